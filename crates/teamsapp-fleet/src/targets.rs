//! Targets named in a file instead of discovered: what `fleet plan` prints is valid input.
//!
//! Accepted, one target per line: JSON objects (`{"scope":"chat","scopeId":"19:…@thread.v2",
//! "installationId":"…","tenant":"…"}`; other fields, such as a plan's `from`, `to` and
//! `action`, are ignored), a JSON array of such objects (`-o json`), or CSV rows, either
//! `scope,scope-id[,installation-id]` or with a header row naming the columns (`scope`,
//! `scopeId`, `installationId`, `tenant`; others ignored), as `fleet plan -o csv` prints.
//! Blank lines and lines starting with `#` are skipped. Without an installation id, the app's
//! installation in that scope is looked up.

use crate::error::Error;
use serde::Deserialize;
use teamsapp_types::{AppInstallationId, Scope};

/// One target named in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// The tenant it belongs to, when the file says (plans of several tenants do).
    pub tenant: Option<String>,
    /// Where.
    pub scope: Scope,
    /// Which installation, if known.
    pub installation: Option<AppInstallationId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonTarget {
    scope: String,
    scope_id: String,
    #[serde(default)]
    installation_id: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
}

fn spec(
    line: usize,
    tenant: Option<&str>,
    scope: &str,
    scope_id: &str,
    installation: Option<&str>,
) -> Result<TargetSpec, Error> {
    let at = |reason: String| Error::Targets { line, reason };
    let scope = Scope::parse(scope, scope_id).map_err(at)?;
    let installation = installation
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "null")
        .map(|s| AppInstallationId::new(s).map_err(|e| at(e.to_string())))
        .transpose()?;
    Ok(TargetSpec {
        tenant: tenant
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "null")
            .map(str::to_owned),
        scope,
        installation,
    })
}

/// The CSV columns a header row named.
struct Columns {
    scope: usize,
    scope_id: usize,
    installation: Option<usize>,
    tenant: Option<usize>,
}

impl Columns {
    fn from_header(record: &csv::StringRecord) -> Option<Self> {
        let find = |names: &[&str]| {
            record
                .iter()
                .position(|c| names.iter().any(|n| c.trim().eq_ignore_ascii_case(n)))
        };
        Some(Self {
            scope: find(&["scope"])?,
            scope_id: find(&["scopeId", "scope-id", "scope_id"])?,
            installation: find(&["installationId", "installation-id", "installation_id"]),
            tenant: find(&["tenant"]),
        })
    }
}

/// Parses a targets file; errors name the line.
pub fn parse(text: &str) -> Result<Vec<TargetSpec>, Error> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let items: Vec<JsonTarget> = serde_json::from_str(trimmed).map_err(|e| Error::Targets {
            line: e.line(),
            reason: e.to_string(),
        })?;
        return items
            .iter()
            .enumerate()
            .map(|(i, j)| {
                spec(
                    i + 1,
                    j.tenant.as_deref(),
                    &j.scope,
                    &j.scope_id,
                    j.installation_id.as_deref(),
                )
            })
            .collect();
    }
    let mut out = Vec::new();
    let mut columns: Option<Columns> = None;
    let mut first_row = true;
    for (n, line) in text.lines().enumerate() {
        let number = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('{') {
            first_row = false;
            let j: JsonTarget = serde_json::from_str(line).map_err(|e| Error::Targets {
                line: number,
                reason: e.to_string(),
            })?;
            out.push(spec(
                number,
                j.tenant.as_deref(),
                &j.scope,
                &j.scope_id,
                j.installation_id.as_deref(),
            )?);
            continue;
        }
        let record = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .ok_or_else(|| Error::Targets {
                line: number,
                reason: "empty row".into(),
            })?
            .map_err(|e| Error::Targets {
                line: number,
                reason: e.to_string(),
            })?;
        if std::mem::take(&mut first_row)
            && record
                .get(0)
                .is_some_and(|c| c.trim().eq_ignore_ascii_case("scope"))
            || record
                .iter()
                .any(|c| c.trim().eq_ignore_ascii_case("scopeId"))
        {
            columns = Columns::from_header(&record);
            if columns.is_none() {
                return Err(Error::Targets {
                    line: number,
                    reason: "a header row needs the columns scope and scopeId".into(),
                });
            }
            continue;
        }
        let target = if let Some(c) = &columns {
            let missing = || Error::Targets {
                line: number,
                reason: format!("{} fields, fewer than the header's columns", record.len()),
            };
            spec(
                number,
                c.tenant.and_then(|i| record.get(i)),
                record.get(c.scope).ok_or_else(missing)?,
                record.get(c.scope_id).ok_or_else(missing)?,
                c.installation.and_then(|i| record.get(i)),
            )?
        } else {
            if record.len() < 2 || record.len() > 3 {
                return Err(Error::Targets {
                    line: number,
                    reason: format!(
                        "expected scope,scope-id[,installation-id] or a header row, got {} fields",
                        record.len()
                    ),
                });
            }
            spec(number, None, &record[0], &record[1], record.get(2))?
        };
        out.push(target);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "19:ea28e88c00e94c7786b065394a61f296@thread.v2";
    const INSTALLATION: &str = "NjRiOWM3NDYtYjE1NS00MDQyLThkNDctOTQxYmQzODE2ODFiIyMwZDgyMGVjZC1kZWYyLTQyOTctYWRhZC03ODA1NmNkZTdjNzg=";

    #[test]
    fn reads_json_and_csv_lines() {
        let text = format!(
            "# fleet\nscope,scopeId,installationId\nchat,{CHAT},{INSTALLATION}\n\n\
             {{\"scope\":\"team\",\"scopeId\":\"6903fa93-605b-43ef-920e-77c4729f8258\"}}\n\
             user,alice@contoso.com\n"
        );
        let targets = parse(&text).unwrap();
        assert_eq!(targets.len(), 3);
        assert!(targets[0].installation.is_some());
        assert_eq!(
            targets[1].scope.to_string(),
            "team/6903fa93-605b-43ef-920e-77c4729f8258"
        );
        assert!(targets[2].installation.is_none());
    }

    #[test]
    fn plan_output_in_every_format_is_valid_input() {
        let ndjson = format!(
            "{{\"tenant\":\"t1\",\"scope\":\"chat\",\"scopeId\":\"{CHAT}\",\"installationId\":\"{INSTALLATION}\",\"from\":\"1.0.0\",\"to\":\"1.1.0\",\"action\":\"upgrade\",\"consent\":[]}}\n"
        );
        let json = format!("[{}]", ndjson.trim());
        let csv = format!(
            "tenant,scope,scopeId,installationId,from,to,action,consent\n\
             t1,chat,{CHAT},{INSTALLATION},1.0.0,1.1.0,upgrade,\"a:b c:d\"\n"
        );
        for text in [ndjson, json, csv] {
            let targets = parse(&text).unwrap();
            assert_eq!(targets.len(), 1, "{text}");
            assert_eq!(targets[0].tenant.as_deref(), Some("t1"));
            assert_eq!(targets[0].scope.id(), CHAT);
            assert_eq!(
                targets[0]
                    .installation
                    .as_ref()
                    .map(AppInstallationId::as_str),
                Some(INSTALLATION)
            );
        }
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("chat,19:ok@thread.v2\nteam,not-a-guid\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("targets line 2: invalid team id"), "{err}");
        let err = parse("{\"scope\":\"chat\"}").unwrap_err().to_string();
        assert!(err.starts_with("targets line 1:"), "{err}");
        let err = parse("galaxy,x").unwrap_err().to_string();
        assert!(err.contains("unknown scope \"galaxy\""), "{err}");
        let err = parse("a,b,c,d").unwrap_err().to_string();
        assert!(err.contains("got 4 fields"), "{err}");
    }
}
