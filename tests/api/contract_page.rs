//! The contract page (`../shared/design/API.md`) read into what it names, so
//! `spec.rs` can hold each claim against the spec:
//!
//! - **Endpoint tables** (first column `verb path`): the first cell names the
//!   operations (``GET/POST `/customers`, GET/PATCH `/customers/{id}` ``); the
//!   `notes` and `body → response` cells start on the request side and `→`
//!   turns to the answer; a `body` cell is the request, an `answer` cell the
//!   answer. Cells are read clause by clause (`;` and sentence ends): a leading
//!   verb picks that verb's operations of the row, a status (`409 …`) is
//!   documented and names the answer that follows, `{…}` lists fields, a
//!   leading run of bare `field` spans lists request fields, ``409 `CODE` with
//!   `field` `` names fields of that answer, `→ 200 the user` says it answers
//!   the user object, and `filters`, `` `name` over ``, `sort` and
//!   `` `name=value` `` name query parameters. Parentheses are asides.
//! - **A paragraph that opens with a verb and a path** (``GET `/dashboard` → …``)
//!   is notes for that operation.
//! - **`VERB /path` code spans anywhere** name operations; one followed by
//!   `answers 405` names an operation that must not exist, and
//!   ``every `/users` call answers 409`` documents 409 on every such operation.
//! - **Objects in prose**: ``The license object: `{…}` ``, ``Order list items are
//!   `{…}` ``, ``its detail view adds `{…}` ``, ``the manager object shows
//!   `field` ``, and nested shapes (`` `managers` as `{…}` ``); [`PROSE_OBJECTS`]
//!   names the two paragraphs that define a shape without saying "object".
//!   Any other `{…}` in prose is an error, unless [`NOT_BODIES`] says why it
//!   is not a body of the API — so a new shape on the page can't pass unread.
//!
//! Paths are under `/api/v1` except in a section titled "outside `/api/v1`";
//! `{param}` names are compared by position only ([`shape`]).

use std::collections::{BTreeMap, BTreeSet};

/// Paragraphs (by how they open) that define a shape without "the X object".
const PROSE_OBJECTS: &[(&str, &str)] = &[("Collections take", "collection"), ("Every error is", "error")];

/// Paragraphs (by how they open) whose `{…}` are not bodies of the API, and why.
const NOT_BODIES: &[(&str, &str)] = &[
    ("**Wire format**", "what a webhook delivery POSTs to a receiver, not an operation of this API"),
    ("Request file (written by the software)", "the JSON inside the base64 request file, a string in the API"),
    ("`P` is the base64", "the signed payload inside a license file, a string in the API"),
];

const VERBS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub nested: Vec<Field>,
}

/// One operation the page names, with everything it says about it.
#[derive(Debug, Default)]
pub struct Operation {
    pub method: String,
    /// As the page writes it (with `/api/v1`), without a query.
    pub path: String,
    /// The first line that names it.
    pub line: usize,
    /// The page says this operation answers 405 (it must not exist).
    pub absent: bool,
    pub statuses: BTreeMap<u16, usize>,
    pub request: Vec<(usize, Field)>,
    /// `None`: the success answer.
    pub answers: Vec<(usize, Option<u16>, Field)>,
    /// `→ 200 the user`: (line, status, object name) — any word after "the".
    pub links: Vec<(usize, Option<u16>, String)>,
    pub query: BTreeMap<String, usize>,
}

#[derive(Debug, Default)]
pub struct Object {
    pub fields: Vec<(usize, Field)>,
}

#[derive(Debug, Default)]
pub struct Contract {
    pub operations: Vec<Operation>,
    pub objects: BTreeMap<String, Object>,
    /// The query parameters every collection takes (`page`, `per_page`, …).
    pub collection_query: BTreeMap<String, usize>,
    blankets: Vec<(usize, String, u16)>,
    not_bodies_used: BTreeSet<&'static str>,
}

/// `path` with every `{param}` written `{}`.
pub fn shape(path: &str) -> String {
    path.split('/').map(|s| if s.starts_with('{') { "{}" } else { s }).collect::<Vec<_>>().join("/")
}

impl Contract {
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.method == method && shape(&o.path) == shape(path))
    }

    /// The GET operations that answer a page: those with an operation on
    /// `path/{param}` below them, or with query parameters of their own.
    pub fn collections(&self) -> Vec<&Operation> {
        let below = |op: &Operation| {
            let prefix = format!("{}/{{}}", shape(&op.path));
            self.operations.iter().any(|o| shape(&o.path) == prefix)
        };
        self.operations.iter().filter(|o| o.method == "GET" && (below(o) || !o.query.is_empty())).collect()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Request,
    Answer,
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Code(&'a str),
    Word(&'a str),
    Arrow,
    Comma,
    Colon,
    Break,
}

/// Text and code spans, alternating (a code span may span lines).
fn pieces(text: &str) -> Vec<(bool, &str)> {
    text.split('`').enumerate().filter(|(_, s)| !s.is_empty()).map(|(i, s)| (i % 2 == 1, s)).collect()
}

/// `text` without its parenthesized asides (those outside code spans).
fn strip_asides(text: &str) -> String {
    let (mut out, mut depth, mut code) = (String::new(), 0usize, false);
    for c in text.chars() {
        if c == '`' {
            code = !code;
        } else if !code && c == '(' {
            depth += 1;
            continue;
        } else if !code && c == ')' && depth > 0 {
            depth -= 1;
            continue;
        }
        if depth == 0 {
            out.push(c);
        }
    }
    out
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    for (code, piece) in pieces(text) {
        if code {
            out.push(Token::Code(piece.trim()));
            continue;
        }
        let mut start = None;
        let chars: Vec<(usize, char)> = piece.char_indices().collect();
        for (k, &(i, c)) in chars.iter().enumerate() {
            let next_blank = chars.get(k + 1).is_none_or(|(_, n)| n.is_whitespace());
            let token = match c {
                '→' => Some(Token::Arrow),
                ';' => Some(Token::Break),
                '.' if next_blank => Some(Token::Break),
                ',' => Some(Token::Comma),
                ':' => Some(Token::Colon),
                c if c.is_whitespace() => None,
                _ => {
                    start.get_or_insert(i);
                    continue;
                }
            };
            if let Some(s) = start.take() {
                out.push(Token::Word(&piece[s..i]));
            }
            out.extend(token);
        }
        if let Some(s) = start {
            out.push(Token::Word(&piece[s..]));
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_code_name(s: &str) -> bool {
    s.len() >= 4 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

fn status(word: &str) -> Option<u16> {
    let n: u16 = word.parse().ok().filter(|_| word.len() == 3)?;
    (200..600).contains(&n).then_some(n)
}

/// `VERB /path` in one code span.
fn verb_path(code: &str) -> Option<(&str, &str)> {
    let (verb, path) = code.split_once(' ')?;
    (VERBS.contains(&verb) && path.starts_with('/') && !path.contains(' ')).then_some((verb, path))
}

/// Splits at `sep` outside brackets.
fn split_top<'a>(text: &'a str, sep: &str) -> Vec<&'a str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if depth == 0 && rest.starts_with(sep) {
            out.push(&text[start..i]);
            i += sep.len();
            start = i;
            continue;
        }
        let c = rest.chars().next().unwrap();
        match c {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            _ => {}
        }
        i += c.len_utf8();
    }
    out.push(&text[start..]);
    out
}

/// `text` from its leading `{` to the matching `}`.
fn braced(text: &str) -> &str {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return &text[..=i];
        }
    }
    text
}

/// The fields of `{a, b?, c: {d}, e: [{f}], g or h}` and the statuses its asides name.
fn field_list(code: &str, line: usize) -> (Vec<Field>, BTreeSet<u16>) {
    let inner = code.trim().strip_prefix('{').and_then(|c| c.strip_suffix('}'));
    let inner = inner.unwrap_or_else(|| panic!("API.md line {line}: `{code}` is not a `{{…}}` field list"));
    let (mut fields, mut statuses) = (Vec::new(), BTreeSet::new());
    for item in split_top(inner, ",") {
        // `code (unique: 409 CODE)`: the aside's statuses count, its words do not.
        let (mut plain, mut aside, mut depth) = (String::new(), String::new(), 0usize);
        for c in item.chars() {
            match c {
                '(' => depth += 1,
                ')' if depth > 0 => depth -= 1,
                '"' => {}
                _ if depth > 0 => aside.push(c),
                _ => plain.push(c),
            }
        }
        statuses.extend(aside.split_whitespace().filter_map(status));
        let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
        if plain.is_empty() || plain == "…" || plain == "..." {
            continue;
        }
        let read: Vec<Field> = split_top(&plain, " or ").into_iter().filter_map(|a| field(a, line)).collect();
        assert!(!read.is_empty(), "API.md line {line}: no field in `{plain}` of `{code}`");
        fields.extend(read);
    }
    (fields, statuses)
}

/// One field: `name`, `name?`, `name ≥ 1`, `name: value`, `name: {…}`, `name: [{…}]`,
/// `map.key` (the map). `None` for prose (`a list of exact types`).
fn field(text: &str, line: usize) -> Option<Field> {
    let text = text.trim();
    let end = text.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
    let name = &text[..end];
    if !is_ident(name) {
        return None;
    }
    let rest = text[end..].trim_start();
    let rest = rest.strip_prefix('?').unwrap_or(rest).trim_start();
    let nested = match rest.strip_prefix(':') {
        Some(value) => {
            let value = value.trim_start();
            let value = value.strip_prefix('[').unwrap_or(value).trim_start();
            if value.starts_with('{') { field_list(braced(value), line).0 } else { Vec::new() }
        }
        None if rest.is_empty() || rest.starts_with(['≥', '≤', '=', '.']) => Vec::new(),
        None => return None,
    };
    Some(Field { name: name.to_owned(), nested })
}

/// Adds `new` to `fields`, or its nested fields to the field of that name.
fn merge_nested(fields: &mut Vec<Field>, new: Field) {
    match fields.iter_mut().find(|f| f.name == new.name) {
        Some(old) => new.nested.into_iter().for_each(|n| merge_nested(&mut old.nested, n)),
        None => fields.push(new),
    }
}

fn merge(fields: &mut Vec<(usize, Field)>, line: usize, new: Field) {
    match fields.iter_mut().find(|(_, f)| f.name == new.name) {
        Some((_, old)) => new.nested.into_iter().for_each(|n| merge_nested(&mut old.nested, n)),
        None => fields.push((line, new)),
    }
}

pub fn parse(page: &str) -> Contract {
    let mut contract = Contract::default();
    let mut prefix = "/api/v1";
    let mut header: Option<Vec<String>> = None;
    let mut paragraph: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut fence = false;
    for (i, line) in page.lines().enumerate() {
        let n = i + 1;
        let flush = |contract: &mut Contract, paragraph: &mut Vec<&str>, prefix: &str| {
            if !paragraph.is_empty() {
                contract.paragraph(&paragraph.join("\n"), start, prefix);
                paragraph.clear();
            }
        };
        if line.trim_start().starts_with("```") {
            flush(&mut contract, &mut paragraph, prefix);
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        if line.starts_with('|') {
            flush(&mut contract, &mut paragraph, prefix);
            let cells = cells(line);
            match &header {
                None => header = Some(cells),
                Some(_) if cells.iter().all(|c| c.chars().all(|c| c == '-' || c == ':')) => {}
                Some(h) => contract.row(h, &cells, n, prefix),
            }
            continue;
        }
        header = None;
        if line.trim().is_empty() || line.starts_with('#') {
            flush(&mut contract, &mut paragraph, prefix);
            if line.starts_with("## ") {
                prefix = if line.contains("outside `/api/v1`") { "" } else { "/api/v1" };
            }
            continue;
        }
        if paragraph.is_empty() {
            start = n;
        }
        paragraph.push(line);
    }
    for (line, segment, status) in std::mem::take(&mut contract.blankets) {
        let ops: Vec<&mut Operation> = contract
            .operations
            .iter_mut()
            .filter(|o| !o.absent && (o.path.contains(&format!("{segment}/")) || o.path.ends_with(&segment)))
            .collect();
        assert!(!ops.is_empty(), "API.md line {line}: no operation has a segment `{segment}`");
        for op in ops {
            op.statuses.entry(status).or_insert(line);
        }
    }
    for (opening, _) in NOT_BODIES {
        assert!(contract.not_bodies_used.contains(opening), "NOT_BODIES: no paragraph opens with `{opening}`");
    }
    contract
}

/// A table row's cells, split at `|` outside code spans.
fn cells(line: &str) -> Vec<String> {
    let (mut out, mut cell, mut code) = (Vec::new(), String::new(), false);
    for c in line.trim().trim_start_matches('|').chars() {
        match c {
            '`' => {
                code = !code;
                cell.push(c);
            }
            '|' if !code => out.push(std::mem::take(&mut cell).trim().to_owned()),
            _ => cell.push(c),
        }
    }
    if !cell.trim().is_empty() {
        out.push(cell.trim().to_owned());
    }
    out
}

impl Contract {
    fn op(&mut self, method: &str, path: &str, line: usize, prefix: &str) -> usize {
        assert!(VERBS.contains(&method), "API.md line {line}: `{method}` is not a verb");
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let path = format!("{prefix}{path}");
        let index = match self.operations.iter().position(|o| o.method == method && shape(&o.path) == shape(&path)) {
            Some(index) => index,
            None => {
                self.operations.push(Operation { method: method.to_owned(), path, line, ..Default::default() });
                self.operations.len() - 1
            }
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap();
            self.operations[index].query.entry(name.to_owned()).or_insert(line);
        }
        index
    }

    /// `VERB /path` spans (and `… answers 405`), and ``every `/x` call answers N``.
    fn mentions(&mut self, text: &str, line: usize, prefix: &str) {
        let pieces = pieces(text);
        for (k, &(code, piece)) in pieces.iter().enumerate() {
            let after = pieces.get(k + 1).filter(|(c, _)| !c).map(|(_, t)| t.trim_start()).unwrap_or("");
            if !code {
                continue;
            }
            if let Some((verb, path)) = verb_path(piece) {
                let index = self.op(verb, path, line, prefix);
                if after.starts_with("answers 405") {
                    self.operations[index].absent = true;
                }
            }
            let before = k.checked_sub(1).map(|b| pieces[b]).filter(|(c, _)| !c).map(|(_, t)| t).unwrap_or("");
            if piece.starts_with('/') && before.trim_end().to_lowercase().ends_with(" every") {
                let words: Vec<&str> = after.split_whitespace().collect();
                if let ["call", "answers", n, ..] = words[..] {
                    let n = status(n).unwrap_or_else(|| panic!("API.md line {line}: `{n}` is not a status"));
                    self.blankets.push((line, piece.to_owned(), n));
                }
            }
        }
    }

    fn row(&mut self, header: &[String], cells: &[String], line: usize, prefix: &str) {
        for cell in cells {
            self.mentions(cell, line, prefix);
        }
        if header.first().map(String::as_str) != Some("verb path") {
            return;
        }
        let ops = self.ops_cell(&cells[0], line, prefix);
        for (title, cell) in header.iter().zip(cells).skip(1) {
            match title.as_str() {
                "who" => {}
                "notes" | "body → response" | "body" => self.notes(&ops, cell, Side::Request, line),
                "answer" => self.notes(&ops, cell, Side::Answer, line),
                other => panic!("API.md line {line}: an endpoint table with a column `{other}` the test cannot read"),
            }
        }
    }

    /// ``GET/POST `/customers`, GET/PATCH `/customers/{id}` ``.
    fn ops_cell(&mut self, cell: &str, line: usize, prefix: &str) -> Vec<usize> {
        let mut ops = Vec::new();
        let mut verbs = "";
        for (code, piece) in pieces(cell) {
            if !code {
                verbs = piece.split(|c: char| c.is_whitespace() || c == ',').rfind(|w| !w.is_empty()).unwrap_or("");
            } else if let Some((verb, path)) = verb_path(piece) {
                ops.push(self.op(verb, path, line, prefix));
            } else if piece.starts_with('/') {
                assert!(!verbs.is_empty(), "API.md line {line}: `{piece}` without a verb");
                for verb in verbs.split('/') {
                    ops.push(self.op(verb, piece, line, prefix));
                }
            }
        }
        assert!(!ops.is_empty(), "API.md line {line}: an endpoint row that names no operation");
        ops
    }

    /// A notes cell (or a paragraph's notes) for the operations `ops`.
    fn notes(&mut self, ops: &[usize], text: &str, default: Side, line: usize) {
        let stripped = strip_asides(text);
        let tokens = tokens(&stripped);
        for clause in tokens.split(|t| *t == Token::Break) {
            let mut sel: Vec<usize> = ops.to_vec();
            let mut k = 0;
            if let Some(Token::Word(verb)) = clause.first().filter(|t| matches!(t, Token::Word(w) if VERBS.contains(w)))
            {
                sel.retain(|&o| self.operations[o].method == *verb);
                assert!(!sel.is_empty(), "API.md line {line}: `{verb}` names no operation of its row");
                k = 1;
            }
            let mut side = default;
            // A leading run of bare fields (`seats`, `expires_at` → 200) is the request.
            let mut run = Vec::new();
            let mut j = k;
            while let Some(token) = clause.get(j) {
                match token {
                    Token::Code(c) if is_ident(c) => run.push(*c),
                    Token::Comma | Token::Word("and" | "or") => {}
                    _ => break,
                }
                j += 1;
            }
            if side == Side::Request && !run.is_empty() && matches!(clause.get(j), None | Some(Token::Arrow)) {
                for name in run {
                    self.request(&sel, line, Field { name: name.to_owned(), nested: Vec::new() }, &BTreeSet::new());
                }
                k = j;
            }
            if let Some(Token::Code(c)) = clause.get(k) {
                if let Some((name, _)) = c.split_once('=').filter(|(n, _)| is_ident(n)) {
                    self.query(&sel, name, line);
                }
            }
            let mut status_now = None;
            let mut anchor = false;
            while k < clause.len() {
                let token = &clause[k];
                k += 1;
                match *token {
                    Token::Arrow => {
                        side = Side::Answer;
                        status_now = None;
                        anchor = true;
                        continue;
                    }
                    Token::Word(w) if status(w).is_some() => {
                        let n = status(w).unwrap();
                        side = Side::Answer;
                        status_now = Some(n);
                        for &o in &sel {
                            self.operations[o].statuses.entry(n).or_insert(line);
                        }
                        anchor = true;
                        continue;
                    }
                    Token::Word("the") if anchor => {
                        if let Some(Token::Word(name)) = clause.get(k) {
                            for &o in &sel {
                                self.operations[o].links.push((line, status_now, (*name).to_owned()));
                            }
                            k += 1;
                        }
                        continue;
                    }
                    Token::Word("with") if anchor => {
                        while let Some(t) = clause.get(k) {
                            match t {
                                Token::Code(c) => {
                                    let f = field(&c.replace('"', ""), line);
                                    let f = f.unwrap_or_else(|| panic!("API.md line {line}: no field in `{c}`"));
                                    self.answer(&sel, line, status_now, f);
                                }
                                Token::Comma | Token::Word("and") => {}
                                _ => break,
                            }
                            k += 1;
                        }
                    }
                    Token::Word("filters") => {
                        while let Some(t) = clause.get(k) {
                            match t {
                                Token::Code(c) => self.query(&sel, c, line),
                                Token::Comma | Token::Word("and") => {}
                                _ => break,
                            }
                            k += 1;
                        }
                    }
                    Token::Word("sort") => self.query(&sel, "sort", line),
                    Token::Code(c) if is_ident(c) && clause.get(k) == Some(&Token::Word("over")) => {
                        self.query(&sel, c, line)
                    }
                    Token::Code(c) if c.starts_with('{') => {
                        let (fields, statuses) = field_list(c, line);
                        let bodies: Vec<usize> = sel
                            .iter()
                            .copied()
                            .filter(|&o| !["GET", "DELETE"].contains(&&*self.operations[o].method))
                            .collect();
                        for f in fields {
                            if side == Side::Answer || bodies.is_empty() {
                                self.answer(&sel, line, status_now, f);
                            } else {
                                self.request(&bodies, line, f, &statuses);
                            }
                        }
                    }
                    Token::Code(c) if is_code_name(c) => {
                        anchor = true;
                        continue;
                    }
                    _ => {}
                }
                anchor = false;
            }
        }
    }

    fn request(&mut self, ops: &[usize], line: usize, field: Field, statuses: &BTreeSet<u16>) {
        for &o in ops {
            merge(&mut self.operations[o].request, line, field.clone());
            for &n in statuses {
                self.operations[o].statuses.entry(n).or_insert(line);
            }
        }
    }

    fn answer(&mut self, ops: &[usize], line: usize, status: Option<u16>, field: Field) {
        for &o in ops {
            self.operations[o].answers.push((line, status, field.clone()));
        }
    }

    fn query(&mut self, ops: &[usize], name: &str, line: usize) {
        assert!(is_ident(name), "API.md line {line}: `{name}` is not a parameter name");
        for &o in ops {
            self.operations[o].query.entry(name.to_owned()).or_insert(line);
        }
    }

    fn paragraph(&mut self, text: &str, line: usize, prefix: &str) {
        self.mentions(text, line, prefix);
        // ``GET `/dashboard` → …``: notes for that operation.
        if let [(false, verb), (true, path), ..] = pieces(text)[..] {
            if VERBS.contains(&verb.trim()) && path.starts_with('/') {
                let op = self.op(verb.trim(), path, line, prefix);
                let rest = &text[text.find(path).unwrap() + path.len() + 1..];
                self.notes(&[op], rest, Side::Request, line);
                return;
            }
        }
        if let Some((opening, _)) = NOT_BODIES.iter().find(|(opening, _)| text.starts_with(opening)) {
            self.not_bodies_used.insert(opening);
            return;
        }
        // ``PATCH /managers/{id}` `{…}``: that operation's request.
        let raw = pieces(text);
        let mut adjacent = BTreeSet::new();
        for window in raw.windows(3) {
            if let [(true, call), (false, gap), (true, body)] = window {
                if let (Some((verb, path)), true, true) =
                    (verb_path(call), gap.trim().is_empty(), body.starts_with('{'))
                {
                    let op = self.op(verb, path, line, prefix);
                    let (fields, statuses) = field_list(body, line);
                    for f in fields {
                        self.request(&[op], line, f, &statuses);
                    }
                    adjacent.insert(*body);
                }
            }
        }
        self.objects_in(text, line, &adjacent);
    }

    /// ``The license object: `{…}` `` and the like.
    fn objects_in(&mut self, text: &str, line: usize, skip: &BTreeSet<&str>) {
        let mut current: Option<String> =
            PROSE_OBJECTS.iter().find(|(opening, _)| text.starts_with(opening)).map(|(_, name)| (*name).to_owned());
        let stripped = strip_asides(text);
        let pieces = pieces(&stripped);
        let mut sentence_field: Option<&str> = None;
        let mut lead = "";
        for &(code, piece) in &pieces {
            if !code {
                lead = piece;
                if piece.contains(". ") || piece.contains(";") || piece.contains(".\n") {
                    sentence_field = None;
                }
                continue;
            }
            let introduced = if let Some(name) = object_phrase(lead) {
                Some(name)
            } else if let Some(i) = lead.find(" list items are") {
                let word = lead[..i].split_whitespace().last().unwrap_or("");
                Some(format!("{} list item", word.to_lowercase()))
            } else if lead.contains("detail view adds") {
                let of = current.clone().unwrap_or_else(|| panic!("API.md line {line}: a detail view of nothing"));
                Some(format!("{of} detail"))
            } else {
                None
            };
            if introduced.is_some() {
                current.clone_from(&introduced);
                sentence_field = None;
            }
            if piece.starts_with('{') && !skip.contains(piece.trim()) {
                let name = current.clone().unwrap_or_else(|| {
                    panic!("API.md line {line}: `{piece}` is tied to no operation or object (see NOT_BODIES)")
                });
                let object = self.objects.entry(name).or_default();
                let (fields, _) = field_list(piece, line);
                match sentence_field {
                    // `managers` as `{id, email, name}`: the shape of that field.
                    Some(outer) => merge(&mut object.fields, line, Field { name: outer.to_owned(), nested: fields }),
                    None => fields.into_iter().for_each(|f| merge(&mut object.fields, line, f)),
                }
            } else if let (Some(name), Some(f)) = (&introduced, field(&piece.replace('"', ""), line)) {
                // "the manager object shows `bound_customer_id`", "its detail view adds `attempts: […]`".
                let object = self.objects.entry(name.clone()).or_default();
                merge(&mut object.fields, line, f);
            } else if current.is_some() && is_ident(piece) && !["null", "true", "false"].contains(&piece) {
                sentence_field = Some(piece);
            }
            // "Collections take `page`, `per_page`, `sort` and `q`" (before their shape).
            if current.as_deref() == Some("collection") && is_ident(piece) && !self.objects.contains_key("collection") {
                self.collection_query.entry(piece.to_owned()).or_insert(line);
            }
        }
    }
}

/// "… the license object …" → `license`.
fn object_phrase(lead: &str) -> Option<String> {
    let words: Vec<&str> = lead.split_whitespace().collect();
    let at = words.iter().rposition(|w| w.trim_end_matches([':', ',', '.', ';']) == "object")?;
    let the = words.get(at.checked_sub(2)?)?;
    the.eq_ignore_ascii_case("the").then(|| words[at - 1].to_lowercase())
}
