"""Failures of one schemathesis run, grouped by check and operation.

Reads the NDJSON event report (`st run --report ndjson`) and prints, per group,
how many cases failed, the status codes they got, the first failure's message
and a curl line that repeats its request ($BASE is the server, $ST_ADMIN_TOKEN an
admin access token).

    python summary.py target/schemathesis/sqlite/events.ndjson
"""

import base64
import collections
import json
import shlex
import sys
import urllib.parse


def decode(body):
    if isinstance(body, dict) and "$base64" in body:
        return base64.b64decode(body["$base64"]).decode("utf-8", errors="replace")
    return ""


def curl(request):
    parts = ["curl", "-i", "-X", request.get("method", "GET")]
    for name, values in (request.get("headers") or {}).items():
        if name.lower() in ("user-agent", "x-schemathesis-testcaseid", "content-length", "accept-encoding", "connection"):
            continue
        for value in values:
            if name.lower() == "authorization":
                # Recorded as "[Filtered]": the run's admin token.
                parts += ["-H", '"Authorization: Bearer $ST_ADMIN_TOKEN"']
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = decode(request.get("body"))
    if body:
        parts += ["--data-binary", shlex.quote(body)]
    uri = urllib.parse.urlsplit(request.get("uri", ""))
    target = uri.path + (f"?{uri.query}" if uri.query else "")
    parts.append(f'"$BASE"{shlex.quote(target)}')
    return " ".join(parts)


def main(path):
    groups = {}
    for line in open(path, encoding="utf-8"):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                case = recorder["cases"][case_id]["value"]
                operation = failure.get("operation") or f"{case['method']} {case['path']}"
                interaction = (recorder.get("interactions") or {}).get(case_id) or {}
                response = interaction.get("response") or {}
                group = groups.setdefault(
                    (check["name"], operation),
                    {"count": 0, "statuses": collections.Counter(), "phases": collections.Counter(), "first": None},
                )
                group["count"] += 1
                group["statuses"][str(response.get("status_code", "-"))] += 1
                group["phases"][finished.get("phase", "?")] += 1
                if group["first"] is None and interaction.get("request"):
                    group["first"] = (failure, interaction["request"], response)
    if not groups:
        print("no failures")
        return
    print(f"{len(groups)} groups of failures (check, operation):")
    for (check, operation), group in sorted(groups.items()):
        statuses = ", ".join(f"{s}×{n}" for s, n in group["statuses"].most_common())
        phases = ", ".join(sorted(group["phases"]))
        print(f"\n* {check} — {operation}: {group['count']} case(s), answered {statuses} ({phases})")
        if group["first"]:
            failure, request, response = group["first"]
            message = " / ".join(line for line in failure.get("message", "").splitlines() if line.strip())
            print(f"  {failure.get('code', '')} {failure.get('title', '')}: {message}")
            print(f"  {curl(request)}")
            answer = decode(response.get("content"))
            if answer:
                print(f"  → {response.get('status_code')} {answer[:300]}")


if __name__ == "__main__":
    main(sys.argv[1])
