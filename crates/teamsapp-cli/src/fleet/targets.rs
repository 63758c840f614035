//! `--targets FILE|-`: the installations to work on, instead of discovering them.
//!
//! One target per line, as JSON (`{"scope":"chat","scopeId":"19:…@thread.v2","installationId":"…"}`)
//! or CSV (`chat,19:…@thread.v2[,installation-id]`). Blank lines and lines starting with `#` are
//! skipped. Without an installation id, the app's installation in that scope is looked up.

use serde::Deserialize;
use teamsapp_types::{AppInstallationId, Scope};

/// One line of a targets file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetSpec {
    /// Where.
    pub(crate) scope: Scope,
    /// Which installation, if known.
    pub(crate) installation: Option<AppInstallationId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonLine {
    scope: String,
    scope_id: String,
    #[serde(default)]
    installation_id: Option<String>,
}

/// Parses a targets file; errors name the line.
pub(crate) fn parse(text: &str) -> Result<Vec<TargetSpec>, String> {
    let mut out = Vec::new();
    let mut first_row = true;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: String| format!("targets line {}: {e}", n + 1);
        let (scope, installation) = if line.starts_with('{') {
            first_row = false;
            let j: JsonLine = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            (
                Scope::parse(&j.scope, &j.scope_id).map_err(at)?,
                j.installation_id,
            )
        } else {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let record = reader
                .records()
                .next()
                .ok_or_else(|| at("empty row".into()))?
                .map_err(|e| at(e.to_string()))?;
            if record.len() < 2 || record.len() > 3 {
                return Err(at(format!(
                    "expected scope,scope-id[,installation-id], got {} fields",
                    record.len()
                )));
            }
            if std::mem::take(&mut first_row) && record[0].eq_ignore_ascii_case("scope") {
                continue; // A header row.
            }
            (
                Scope::parse(&record[0], &record[1]).map_err(at)?,
                record.get(2).map(str::to_owned),
            )
        };
        let installation = installation
            .filter(|s| !s.trim().is_empty())
            .map(|s| AppInstallationId::new(s.trim()).map_err(|e| at(e.to_string())))
            .transpose()?;
        out.push(TargetSpec {
            scope,
            installation,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_csv_lines() {
        let text = "# fleet\nscope,scopeId,installationId\n\
            chat,19:ea28e88c00e94c7786b065394a61f296@thread.v2,NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=\n\
            \n\
            {\"scope\":\"team\",\"scopeId\":\"6903fa93-605b-43ef-920e-77c4729f8258\"}\n\
            user,alice@contoso.com\n";
        let targets = parse(text).unwrap();
        assert_eq!(targets.len(), 3);
        assert_eq!(targets[0].scope.kind(), "chat");
        assert!(targets[0].installation.is_some());
        assert_eq!(
            targets[1].scope.to_string(),
            "team/6903fa93-605b-43ef-920e-77c4729f8258"
        );
        assert_eq!(
            targets[2].scope,
            Scope::User(teamsapp_types::UserId::new("alice@contoso.com").unwrap())
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("chat,19:ok@thread.v2\nteam,not-a-guid\n").unwrap_err();
        assert!(err.starts_with("targets line 2: invalid team id"), "{err}");
        let err = parse("{\"scope\":\"chat\"}").unwrap_err();
        assert!(err.starts_with("targets line 1:"), "{err}");
        let err = parse("galaxy,x").unwrap_err();
        assert!(err.contains("unknown scope \"galaxy\""), "{err}");
    }
}
