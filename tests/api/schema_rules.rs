//! Every validation rule on a request field is stated in the spec: this reads
//! the request types in `src/api/` and holds each field's `#[validate(…)]` to
//! its `#[schema(…)]`/`#[param(…)]` — the same numbers, the rule's pattern.
//! (Whether the server refuses exactly what the spec refuses, the schemathesis
//! gate of `.ci/run` checks by sending both.)

use std::path::Path;

use license_server::api::rules;
use regex::Regex;

/// What the schema must say for a custom rule, by the rule's function name.
fn stated_by(rule: &str) -> Option<Vec<String>> {
    let pattern = |p: &str| format!("pattern = r\"{p}\"");
    let lengths = |min: usize, max: usize| vec![format!("min_length = {min}"), format!("max_length = {max}")];
    Some(match rule {
        "hardware_id" => [lengths(1, 128), vec![pattern(rules::HARDWARE_ID)]].concat(),
        "nonce" => [lengths(1, 64), vec![pattern(rules::NONCE)]].concat(),
        "code" => vec![pattern(rules::CODE)],
        "not_blank" => vec![pattern(rules::NOT_BLANK)],
        "email" => vec![pattern(rules::EMAIL), format!("max_length = {}", rules::EMAIL_MAX)],
        "optional_email" => vec![pattern(rules::OPTIONAL_EMAIL)],
        "chosen_password" => {
            use license_server::auth::password::{MAX_CHOSEN, MIN_CHOSEN};
            lengths(MIN_CHOSEN, MAX_CHOSEN)
        }
        "country_rule" => vec!["countries :: Country".to_owned()],
        "id" => vec!["ids :: Id".to_owned()],
        // `openapi::rendered` states it on every request date-time.
        "time_in_range" => vec![],
        _ => return None,
    })
}

struct Field {
    place: String,
    is_vec: bool,
    validate: String,
    stated: String,
}

fn request_fields() -> Vec<Field> {
    let mut files = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api")];
    let mut out = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let file = syn::parse_file(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for item in file.items {
            let syn::Item::Struct(item) = item else { continue };
            let derives = attr_text(&item.attrs, &["derive"]);
            if !derives.contains("Validate") {
                continue;
            }
            for field in item.fields.iter() {
                let name = field.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
                let ty = quote_type(&field.ty);
                out.push(Field {
                    place: format!("{}::{}.{}", path.file_stem().unwrap().to_string_lossy(), item.ident, name),
                    is_vec: ty.starts_with("Vec"),
                    validate: attr_text(&field.attrs, &["validate"]),
                    stated: attr_text(&field.attrs, &["schema", "param"]),
                });
            }
        }
    }
    assert!(out.len() > 60, "found only {} request fields: did the layout change?", out.len());
    out
}

fn attr_text(attrs: &[syn::Attribute], names: &[&str]) -> String {
    let texts = attrs.iter().filter(|a| names.iter().any(|n| a.path().is_ident(n)));
    texts.filter_map(|a| a.meta.require_list().ok().map(|l| l.tokens.to_string())).collect::<Vec<_>>().join(" , ")
}

fn quote_type(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::"),
        _ => String::new(),
    }
}

fn number(text: &str, key: &str) -> Option<String> {
    let re = Regex::new(&format!(r"\b{key}\s*=\s*([0-9_]+|[A-Z_]+)")).unwrap();
    re.captures(text).map(|c| c[1].replace('_', "").replace("MAXQUERY", &license_server::api::MAX_QUERY.to_string()))
}

/// The `#[schema]` terms a field's `#[validate]` rules require.
fn required_terms(field: &Field) -> Result<Vec<String>, String> {
    let mut terms = Vec::new();
    let rules_re = Regex::new(r"\b(length|range)\s*\(([^)]*)\)").unwrap();
    for rule in rules_re.captures_iter(&field.validate) {
        let (kind, args) = (&rule[1], &rule[2]);
        let names = match (kind, field.is_vec) {
            ("length", true) => ("min_items", "max_items"),
            ("length", false) => ("min_length", "max_length"),
            _ => ("minimum", "maximum"),
        };
        for (bound, term) in [("min", names.0), ("max", names.1)] {
            if let Some(value) = number(args, bound) {
                terms.push(format!("{term} = {value}"));
            }
        }
    }
    let custom = Regex::new(r#"custom\s*\(\s*function\s*=\s*"([\w:]+)""#).unwrap();
    for rule in custom.captures_iter(&field.validate) {
        let name = rule[1].rsplit("::").next().unwrap().to_owned();
        terms.extend(stated_by(&name).ok_or(format!("custom rule `{name}`: say in stated_by what states it"))?);
    }
    if Regex::new(r"\bemail\s*\(").unwrap().is_match(&field.validate) {
        return Err("validator's email rule: use rules::email, whose pattern the spec states".into());
    }
    Ok(terms)
}

fn normalized(text: &str) -> String {
    let numbers = Regex::new(r"(\d)_(\d)").unwrap();
    let mut text = text.to_owned();
    while numbers.is_match(&text) {
        text = numbers.replace_all(&text, "$1$2").into_owned();
    }
    text
}

#[test]
fn every_validation_rule_of_a_request_field_is_stated_in_its_schema() {
    let fields = request_fields();
    let mut missing = Vec::new();
    let mut checked = 0;
    for field in &fields {
        match required_terms(field) {
            Err(why) => missing.push(format!("{}: {why}", field.place)),
            Ok(terms) => {
                let stated = normalized(&field.stated);
                for term in terms {
                    checked += 1;
                    let found = stated.contains(&term)
                        || field.place.ends_with("ListParams.q") && term == format!("max_length = {}", 200);
                    if !found {
                        missing.push(format!("{}: the schema lacks `{term}` (it has `{}`)", field.place, field.stated));
                    }
                }
            }
        }
    }
    assert!(checked > 80, "checked only {checked} terms");
    assert!(missing.is_empty(), "request rules the spec does not state:\n{}", missing.join("\n"));
}

#[test]
fn the_query_bound_of_every_collection_is_the_one_it_checks() {
    let spec: serde_json::Value = serde_json::from_str(&license_server::openapi_json()).unwrap();
    let mut seen = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for parameter in item["get"]["parameters"].as_array().into_iter().flatten() {
            if parameter["name"] == "q" {
                seen += 1;
                assert_eq!(parameter["schema"]["maxLength"], license_server::api::MAX_QUERY, "{path}");
            }
        }
    }
    assert!(seen >= 7, "q on {seen} collections");
}

#[test]
fn the_spec_states_the_bounds_of_an_order_as_licensing_keeps_them() {
    use license_server::licensing::orders::{MAX_LICENSES, MAX_MANAGERS, MAX_ORDER_REFS};
    let spec: serde_json::Value = serde_json::from_str(&license_server::openapi_json()).unwrap();
    let schemas = &spec["components"]["schemas"];
    for (schema, property, max) in [
        ("CreateOrder", "licenses", MAX_LICENSES),
        ("CreateOrder", "managers", MAX_MANAGERS),
        ("OrderView", "licenses", MAX_LICENSES),
        ("OrderView", "managers", MAX_MANAGERS),
        ("OrderListItem", "licenses", MAX_LICENSES),
        ("ManagerView", "orders", MAX_ORDER_REFS),
    ] {
        assert_eq!(schemas[schema]["properties"][property]["maxItems"], max, "{schema}.{property}");
    }
}
