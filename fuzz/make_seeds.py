#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/corpus/<target>/, deterministically.

Seeds are real examples: the ids, filters, query strings and bodies of Microsoft's docs as kept in
shared/reference/graph-teamsapp-api.md and crates/teamsapp-types/tests/fixtures/, Graph's
Retry-After values, and tiny valid Teams app packages. Run from anywhere, after building the
fuzz targets (`fuzz/smoke.sh 1` does): `python3 fuzz/make_seeds.py`; it replaces the seed files
it owns and leaves others alone. The emulator target picks its request by index into a table it
builds from the generated routes; the script asks the built target for that table
(`TEAMSAPP_FUZZ_LIST_TARGETS=1`), so seeds keep pointing at their operation when routes are added.
"""

import base64
import glob
import io
import json
import os
import subprocess
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "crates", "teamsapp-types", "tests", "fixtures")

TENANT = "c0ffee00-0000-4000-8000-000000000001"
CLIENT_ID = "c0ffee00-0000-4000-8000-00000000f1ee"
CLIENT_SECRET = "teamsapp-emulator-demo~fleet-tool-secret~not-for-production"
SEED_CHAT = "19:ea28e88c00e94c7786b065394a61f296@thread.v2"
SEED_INSTALLATION = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg="
TASKS_APP = "0d820ecd-def2-4297-adad-78056cde7c78"
TASKS_EXTERNAL = "b7b8d3a4-51e5-4a7e-9f0b-6d3c2f0e1a11"
POLLS_APP = "a5228c26-a9ae-4702-90e0-79a5246d2f7d"
STANDUP_APP = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ENGINEERING_TEAM = "6903fa93-605b-43ef-920e-77c4729f8258"
ADELE = "8b081ef6-4792-4def-b2c9-c363a1bf41d5"


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def icon(name):
    with open(os.path.join(ROOT, "crates", "teamsapp-package", "src", "icons", name), "rb") as f:
        return f.read()


def package(external_id, version, name, extra=None, icons=True):
    """A Teams app package like teamsapp_model::package::build_package writes, fixed timestamps."""
    manifest = {
        "$schema": "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
        "manifestVersion": "1.17",
        "id": external_id,
        "version": version,
        "name": {"short": name, "full": name},
        "description": {"short": f"{name} for Microsoft Teams", "full": f"{name}: a demo app."},
        "developer": {
            "name": "Contoso",
            "websiteUrl": "https://contoso.example",
            "privacyUrl": "https://contoso.example/privacy",
            "termsOfUseUrl": "https://contoso.example/terms",
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#FFFFFF",
    }
    manifest.update(extra or {})
    text = json.dumps(manifest, indent=2).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        files = [("manifest.json", text)]
        if icons:
            # The icons build_package ships: PNGs of 192x192 and 32x32, as Teams requires.
            files += [("color.png", icon("color.png")), ("outline.png", icon("outline.png"))]
        for fname, content in files:
            info = zipfile.ZipInfo(fname, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content)
    return out.getvalue(), text


RSC = {
    "webApplicationInfo": {"id": "c0ffee00-0000-4000-8000-000000007a5c", "resource": "api://contoso.example"},
    "authorization": {
        "permissions": {
            "resourceSpecific": [
                {"name": "ChatMember.Read.Chat", "type": "Application"},
                {"name": "OnlineMeeting.ReadBasic.Chat", "type": "Delegated"},
            ]
        }
    },
    "bots": [{"botId": "c0ffee00-0000-4000-8000-00000000b07a", "scopes": ["groupChat", "team", "personal"]}],
}

# --- ids --------------------------------------------------------------------------------------
IDS = {
    "chat-seed": SEED_CHAT,
    "chat-d657": "19:d65713bc498c4a428c71ef9353e6ce20@thread.v2",
    "chat-5bd8": "19:5bd86ec7f6b247d3b9e519b0bfef5d03@thread.v2",
    "chat-one-on-one": "19:8b081ef6-4792-4def-b2c9-c363a1bf41d5_877192bd-9183-47d3-a74c-8aa0426716cf@unq.gbl.spaces",
    "chat-meeting": "19:meeting_NjRhYjE1NzMtOTc4Ni00NDgzLWI5OTQtODdlNzFkMTZmNGE3@thread.v2",
    "chat-skype": "19:abcdef0123456789@thread.skype",
    "chat-encoded": "19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2",
    "channel": "19:ea28e88c00e94c7786b065394a61f296@thread.tacv2",
    "team": ENGINEERING_TEAM,
    "user-guid": ADELE,
    "user-upn": "adele@contoso.example",
    "user-guest": "alice_contoso.com#EXT#@fabrikam.onmicrosoft.com",
    "app-guid": TASKS_APP,
    "app-store": "com.microsoft.teamspace.tab.planner",
    "installation-seed": SEED_INSTALLATION,
    "installation-seed-unpadded": SEED_INSTALLATION.rstrip("="),
    "installation-chat": "MTk6ZDY1NzEzYmM0OThjNGE0MjhjNzFlZjkzNTNlNmNlMjBAdGhyZWFkLnYyIyMwMDAwMTAxNi1kZTA1LTQ5MmUtOTEwNi00ODI4ZmM4YTg2ODc=",
    "installation-chat2": "MTk6NWJkODZlYzdmNmIyNDdkM2I5ZTUxOWIwYmZlZjVkMDNAdGhyZWFkLnYyIyMyYjUyNGUyOC05NWNlLTRjOWItOTc3My00YTViZDZlYzE3NzA=",
    "installation-url-safe": "YT4-Pj5iIyNjPz8_ZA",
    "definition-published": "MDAwMDEwMTYtZGUwNS00OTJlLTkxMDYtNDgyOGZjOGE4Njg3IyMxLjAuMiMjUHVibGlzaGVk",
    "definition-polls": "YTUyMjhjMjYtYTlhZS00NzAyLTkwZTAtNzlhNTI0NmQyZjdkIyMxLjAuMCMjUHVibGlzaGVk",
    "definition-rejected": "OGExZWQ3YTMtNWM3OC00NmIyLTg1MDQtZjlkYTAwYTFkMWE2IyMxLjAuOSMjUmVqZWN0ZWQ=",
    "split-installation": "64b9c746-b155-4042-8d47-941bd381681b##0d820ecd-def2-4297-adad-78056cde7c78",
    "split-definition": "0d820ecd-def2-4297-adad-78056cde7c78##1.0.2##published",
}
for name, value in IDS.items():
    write("ids", name, value)

# --- $filter ----------------------------------------------------------------------------------
FILTERS = {
    "external-id": "teamsApp/externalId eq 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'",
    "teams-app-id": f"teamsApp/id eq '{TASKS_APP}'",
    "distribution": "distributionMethod eq 'organization'",
    "catalog-id": f"id eq '{POLLS_APP}'",
    "catalog-external-id": "externalId eq 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'",
    "any-bot": "appDefinitions/any(a:a/bot ne null)",
    "all-published": "appDefinitions/all(d:d/publishingState eq 'published')",
    "any-empty": "appDefinitions/any()",
    "and-or-not": "not (distributionMethod eq 'store') and (id eq 'x' or externalId ne null)",
    "quote": "displayName eq 'O''Brien'",
    "number-bool": "version eq 1 or isEnabled eq true",
    "unsupported-gt": "version gt 1",
    "function": "startswith(displayName,'Con')",
}
for name, value in FILTERS.items():
    write("filter", name, value)

# --- query strings ----------------------------------------------------------------------------
QUERIES = {
    "expand-filter": "$expand=teamsApp,teamsAppDefinition&$filter=teamsApp/externalId eq 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'",
    "catalog-plus": f"$filter=id+eq+'{POLLS_APP}'&$expand=appDefinitions($select=id,authorization)",
    "catalog-bot": "$expand=appDefinitions($expand=bot)&$filter=appDefinitions/any(a:a/bot ne null)",
    "encoded": "%24filter=distributionMethod%20eq%20%27organization%27&%24top=2&%24count=true",
    "select": "$select=id,consentedPermissionSet&$expand=teamsAppDefinition($expand=bot)",
    "paging": "$top=1&$skiptoken=abc&$count=true",
    "unsupported": "$orderby=displayName&$search=\"x\"&$filter=id eq 'a'&$filter=id eq 'b'",
    "requires-review": "?requiresReview=true&$select=id",
}
for name, value in QUERIES.items():
    write("query", name, value)

# --- Retry-After ------------------------------------------------------------------------------
RETRY = {
    "seconds": "5",
    "fraction": "0.249",
    "fraction2": "2.128",
    "long": "120",
    "huge": "99999999999999999999999999999999",
    "imf-date": "Sun, 06 Nov 1994 08:49:37 GMT",
    "rfc850-date": "Sunday, 06-Nov-94 08:49:37 GMT",
    "asctime-date": "Sun Nov  6 08:49:37 1994",
    "date-with-date": "Wed, 01 Jan 2025 00:00:05 GMT\nWed, 01 Jan 2025 00:00:00 GMT",
    "seconds-with-date": "5\nWed, 01 Jan 2025 00:00:00 GMT",
    "negative": "-1",
}
for name, value in RETRY.items():
    write("retry_after", name, value)

# --- app packages -----------------------------------------------------------------------------
tiny, tiny_manifest = package("e1f2a3b4-0000-4000-8000-000000000001", "1.0.0", "Contoso Notes", icons=False)
write("package", "tiny.zip", tiny)
# The same app with its icons: a package the catalog accepts.
notes, _ = package("e1f2a3b4-0000-4000-8000-000000000001", "1.0.0", "Contoso Notes")
write("package", "notes.zip", notes)
full, full_manifest = package(TASKS_EXTERNAL, "2.0.0", "Contoso Tasks", RSC)
write("package", "rsc-bot.zip", full)
write("package", "manifest.json", tiny_manifest)
write("package", "manifest-rsc.json", full_manifest)
write("package", "manifest-bom.json", b"\xef\xbb\xbf" + tiny_manifest)
bad, _ = package("not a valid id!", "1.0", "", icons=False)
write("package", "invalid-manifest.zip", bad)

# --- bodies -----------------------------------------------------------------------------------
for name in sorted(os.listdir(FIXTURES)):
    if name.endswith(".json"):
        write("bodies", name, fixture(name))

# --- emulator ---------------------------------------------------------------------------------
# Target indexes, read from the emulator target itself: it prints the table it builds (every
# route of teamsapp_types::routes::ALL at its template then its aliases, then the identity
# endpoints, then the admin API) with TEAMSAPP_FUZZ_LIST_TARGETS=1.
def target_table():
    binary = os.environ.get("TEAMSAPP_FUZZ_EMULATOR") or next(
        iter(sorted(glob.glob(os.path.join(HERE, "target", "*", "*", "emulator")))), None)
    if not binary or not os.access(binary, os.X_OK):
        raise SystemExit("build the fuzz targets first (fuzz/smoke.sh 1), or set TEAMSAPP_FUZZ_EMULATOR")
    with tempfile.TemporaryDirectory() as work:
        # One input long enough to reach a request, so the target builds its table.
        probe = os.path.join(work, "probe")
        with open(probe, "wb") as f:
            f.write(b"\0\0\0")
        out = subprocess.run([binary, probe], capture_output=True, text=True,
                             env={**os.environ, "TEAMSAPP_FUZZ_LIST_TARGETS": "1"}, check=True)
    table = {}
    for line in out.stderr.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isdigit():
            table.setdefault((parts[2], parts[3]), int(parts[0]))
    if not table:
        raise SystemExit(f"{binary} printed no target table:\n{out.stderr}")
    return table


TABLE = target_table()
CHAT_APP = "/chats/{chat-id}/installedApps/{teamsAppInstallation-id}"
TEAM_APP = "/teams/{team-id}/installedApps/{teamsAppInstallation-id}"
USER_APP = "/users/{user-id}/teamwork/installedApps/{userScopeTeamsAppInstallation-id}"
CATALOG_APP = "/appCatalogs/teamsApps/{teamsApp-id}"
DEFINITION = CATALOG_APP + "/appDefinitions/{teamsAppDefinition-id}"
ROUTES = {
    "list-chat": ("GET", "/chats/{chat-id}/installedApps"),
    "install-chat": ("POST", "/chats/{chat-id}/installedApps"),
    "get-chat-app": ("GET", CHAT_APP),
    "uninstall-chat": ("DELETE", CHAT_APP),
    "upgrade-chat": ("POST", CHAT_APP + "/upgrade"),
    "upgrade-chat-alias": ("POST", CHAT_APP + "/microsoft.graph.upgrade"),
    "list-team": ("GET", "/teams/{team-id}/installedApps"),
    "install-team": ("POST", "/teams/{team-id}/installedApps"),
    "get-team-app": ("GET", TEAM_APP),
    "uninstall-team": ("DELETE", TEAM_APP),
    "upgrade-team": ("POST", TEAM_APP + "/upgrade"),
    "list-user": ("GET", "/users/{user-id}/teamwork/installedApps"),
    "install-user": ("POST", "/users/{user-id}/teamwork/installedApps"),
    "get-user-app": ("GET", USER_APP),
    "upgrade-user": ("POST", USER_APP + "/upgrade"),
    "get-user-app-chat": ("GET", USER_APP + "/chat"),
    "list-catalog": ("GET", "/appCatalogs/teamsApps"),
    "publish": ("POST", "/appCatalogs/teamsApps"),
    "get-catalog-app": ("GET", CATALOG_APP),
    "update": ("POST", CATALOG_APP + "/appDefinitions"),
    "review": ("PATCH", DEFINITION),
    "list-users": ("GET", "/users"),
    "batch": ("POST", "/$batch"),
}


def target_index(name):
    if name in ROUTES:
        key = ROUTES[name]
    else:
        # The identity and admin endpoints, by the last segments of their path.
        key = next(((m, t) for (m, t) in TABLE if t.endswith(OTHER[name][1]) and m == OTHER[name][0]), None)
    if key not in TABLE:
        raise SystemExit(f"the emulator target has no {name} {key}")
    return TABLE[key]


OTHER = {
    "token": ("POST", "/oauth2/v2.0/token"),
    "devicecode": ("POST", "/oauth2/v2.0/devicecode"),
    "admin-tenants": ("POST", "/_emulator/tenants"),
    "admin-installation": ("GET", "/_emulator/installations/{id}"),
    "admin-journal": ("GET", "/_emulator/journal"),
    "admin-faults": ("PUT", "/_emulator/faults"),
    "admin-throttle": ("PUT", "/_emulator/throttle"),
    "admin-scenarios": ("PUT", "/_emulator/scenarios"),
    "admin-token": ("POST", "/_emulator/token"),
    "admin-approve": ("POST", "/_emulator/devicecode/approve"),
}
CUSTOM = 0x20  # flags: param1 \n param2 \n query \n body
DELEGATED = 0x08
NO_TOKEN = 0x10


def emulator(name, target, body=b"", flags=0):
    if isinstance(body, str):
        body = body.encode()
    write("emulator", name, bytes([target_index(target), flags]) + body)


def custom(name, target, p1="", p2="", query="", body="", flags=0):
    emulator(name, target, f"{p1}\n{p2}\n{query}\n{body}", flags | CUSTOM)


bind = f"https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{STANDUP_APP}"
polls = {
    "teamsApp@odata.bind": f"https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{POLLS_APP}",
    "consentedPermissionSet": {"resourceSpecificPermissions": [
        {"permissionValue": "OnlineMeeting.ReadBasic.Chat", "permissionType": "Delegated"},
        {"permissionValue": "ChatMessage.Read.Chat", "permissionType": "Application"},
    ]},
}
install_body = fixture("InstalledAppsPostRequestBody.chat-post-installedapps-ex1.json")
emulator("install-chat-doc", "install-chat", install_body)
emulator("install-chat-standup", "install-chat", json.dumps({"teamsApp@odata.bind": bind}))
emulator("install-chat-polls-consent", "install-chat", json.dumps(polls))
emulator("install-team-standup", "install-team", json.dumps({"teamsApp@odata.bind": bind}))
emulator("install-user-standup", "install-user", json.dumps({"teamsApp@odata.bind": bind}))
emulator("upgrade-chat-empty", "upgrade-chat")
emulator("upgrade-chat-object", "upgrade-chat", "{}")
emulator("upgrade-chat-consent", "upgrade-chat", fixture("UpgradePostRequestBody.chat-teamsappinstallation-upgrade-ex2.json"))
emulator("upgrade-chat-alias", "upgrade-chat-alias", "{}")
emulator("upgrade-team", "upgrade-team", "{}")
emulator("upgrade-user", "upgrade-user", "{}")
emulator("upgrade-chat-delegated", "upgrade-chat", "{}", DELEGATED)
emulator("publish-tiny", "publish", tiny, DELEGATED)
emulator("publish-notes", "publish", notes, DELEGATED)
emulator("update-tasks", "update", full, DELEGATED)
emulator("publish-app-only", "publish", tiny)
emulator("review-publish", "review", json.dumps({"publishingState": "published"}))
emulator("batch-doc", "batch", fixture("BatchRequest.json-batching-upgrade.json"))
emulator("batch-mixed", "batch", json.dumps({"requests": [
    {"id": "1", "method": "GET", "url": f"/appCatalogs/teamsApps?$filter=id eq '{TASKS_APP}'"},
    {"id": "2", "method": "POST", "url": f"/chats/{SEED_CHAT}/installedApps/{SEED_INSTALLATION}/upgrade",
     "headers": {"Content-Type": "application/json"}, "body": {}, "dependsOn": ["1"]},
    {"id": "3", "method": "POST", "url": "/appCatalogs/teamsApps",
     "headers": {"Content-Type": "application/zip"}, "body": base64.urlsafe_b64encode(tiny).decode()},
]}))
custom("list-chat-expand", "list-chat", query="$expand=teamsApp,teamsAppDefinition&$filter=teamsApp/externalId%20eq%20'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'")
custom("list-catalog-bot", "list-catalog", query="$expand=appDefinitions($expand=bot)&$filter=appDefinitions/any(a:a/bot%20ne%20null)")
custom("list-catalog-rsc", "list-catalog", query=f"$filter=id+eq+'{POLLS_APP}'&$expand=appDefinitions($select=id,authorization)")
custom("get-chat-app-select", "get-chat-app", query="$select=id,consentedPermissionSet&$expand=teamsAppDefinition")
custom("list-users-top", "list-users", query="$top=2&$count=true")
custom("get-chat-encoded-ids", "get-chat-app", p1="19%3Aea28e88c00e94c7786b065394a61f296%40thread.v2", p2=SEED_INSTALLATION.rstrip("="))
custom("list-user-upn", "list-user", p1="adele@contoso.example")
emulator("token-client-credentials", "token",
         f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET.replace('~', '%7E')}"
         "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default", NO_TOKEN)
emulator("devicecode", "devicecode",
         f"client_id={CLIENT_ID}&scope=https%3A%2F%2Fgraph.microsoft.com%2FTeamsAppInstallation.ReadWriteForChat", NO_TOKEN)
emulator("admin-faults", "admin-faults", json.dumps({"gatewayTimeout": 0.0, "latency": 0.0, "latencyMs": 0, "retryAfterSeconds": 2, "seed": 0, "serviceUnavailable": 0.5, "tooManyRequests": 0.5}), NO_TOKEN)
emulator("admin-throttle", "admin-throttle", json.dumps({"delete": {"burst": None, "perSecond": 15.0}, "enabled": True, "patch": {"burst": None, "perSecond": 30.0}, "read": {"burst": 2, "perSecond": 30.0}, "write": {"burst": None, "perSecond": 30.0}}), NO_TOKEN)
emulator("admin-scenarios", "admin-scenarios", json.dumps([{"match": {"operationId": "chats.chat.installedApps.teamsAppInstallation.upgrade", "params": {"teamsAppInstallation-id": SEED_INSTALLATION}}, "times": 1, "status": 429, "retryAfter": 5}]), NO_TOKEN)
emulator("admin-token", "admin-token", json.dumps({"user": "adele@contoso.example", "scopes": ["TeamsAppInstallation.ReadWriteForChat"], "lifetimeSeconds": 60}), NO_TOKEN)
emulator("admin-approve", "admin-approve", json.dumps({"user_code": "ABCD-EFGH", "user": "adele@contoso.example"}), NO_TOKEN)
emulator("admin-tenants", "admin-tenants", json.dumps({
    "tenantId": "c0ffee00-0000-4000-8000-0000000000aa", "displayName": "Fabrikam",
    "users": [{"id": ADELE, "userPrincipalName": "adele@fabrikam.example", "displayName": "Adele Vance"}],
    "chats": [{"id": SEED_CHAT, "chatType": "group", "topic": "Launch", "members": [ADELE]}],
    "appRegistrations": [{"clientId": CLIENT_ID, "clientSecret": "s3cret", "displayName": "Fleet tool",
                          "applicationPermissions": ["TeamsAppInstallation.ReadWriteForChat.All"]}],
    "catalog": [{"id": TASKS_APP, "externalId": TASKS_EXTERNAL, "displayName": "Contoso Tasks",
                 "distributionMethod": "organization",
                 "appDefinitions": [{"version": "1.0.0", "publishingState": "published"},
                                    {"version": "1.1.0", "publishingState": "published"}]}],
    "installations": [{"scope": "chat", "scopeId": SEED_CHAT, "teamsAppId": TASKS_APP, "version": "1.0.0"}],
}), NO_TOKEN)
custom("admin-journal", "admin-journal", query="limit=5", flags=NO_TOKEN)
custom("admin-installation", "admin-installation", p1=SEED_INSTALLATION, flags=NO_TOKEN)

total = 0
for target in sorted(os.listdir(os.path.join(HERE, "corpus"))):
    folder = os.path.join(HERE, "corpus", target)
    files = os.listdir(folder)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    total += size
    print(f"{target:12} {len(files):3} seeds {size:7} bytes")
print(f"{'total':12} {total:15} bytes")
