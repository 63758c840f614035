//! Naming things the way people do: an app by catalog id, externalId or display name; an
//! installation by its id or by its app within the scope.

use crate::context::{NotFound, usage};
use anyhow::{Context as _, Result};
use teamsapp_client::{Client, ListQuery, Scope};
use teamsapp_types::{
    AppInstallationId, ListCatalogApps, TeamsApp, TeamsAppId, TeamsAppInstallation,
};

/// Finds one catalog app (with its definitions) by catalog id, externalId or display name.
pub(crate) async fn app(client: &Client, name: &str) -> Result<TeamsApp> {
    let apps = client
        .catalog_apps(&ListCatalogApps::new().expand(["appDefinitions"]))
        .await
        .context("listing the app catalog")?;
    let found = teamsapp_fleet::matching_apps(&apps, name);
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(NotFound(format!(
            "no app in the catalog has the id, externalId or display name {name:?}{}",
            did_you_mean(name, apps.iter().filter_map(|a| a.display_name.as_deref()))
        ))
        .into()),
        many => usage(format!(
            "{name:?} names {} catalog apps ({}); use a catalog id",
            many.len(),
            many.iter()
                .filter_map(|a| a.id.as_deref())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The app's catalog id.
pub(crate) fn app_id(app: &TeamsApp) -> Result<TeamsAppId> {
    let id = app
        .id
        .as_deref()
        .context("the catalog returned an app without an id")?;
    TeamsAppId::new(id).context("the catalog returned an invalid app id")
}

/// The latest published definition of an app (its definitions must be expanded).
pub(crate) use teamsapp_fleet::latest_published;

/// Finds one installation in a scope by its id, or by its app's catalog id, externalId or name.
pub(crate) async fn installation(
    client: &Client,
    scope: &Scope,
    name: &str,
) -> Result<AppInstallationId> {
    if let Ok(id) = AppInstallationId::new(name)
        && id.decode().is_some()
    {
        return Ok(id);
    }
    let installed = client
        .installed_apps(scope, &ListQuery::new().expand(["teamsApp"]))
        .await
        .context("listing the installed apps")?;
    let matches = |i: &&TeamsAppInstallation| {
        i.teams_app.as_ref().is_some_and(|a| {
            a.id.as_deref() == Some(name)
                || a.external_id
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(name))
                || a.display_name
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(name))
        })
    };
    let found: Vec<_> = installed.iter().filter(matches).collect();
    match found.as_slice() {
        [one] => {
            let id = one
                .id
                .as_deref()
                .context("graph returned an installation without an id")?;
            AppInstallationId::new(id).context("graph returned an invalid installation id")
        }
        [] => Err(NotFound(format!(
            "no installation in {scope} is {name:?} (an installation id, or an app id, externalId or name){}",
            did_you_mean(
                name,
                installed
                    .iter()
                    .filter_map(|i| i.teams_app.as_ref()?.display_name.as_deref())
            )
        ))
        .into()),
        _ => usage(format!(
            "{name:?} matches several installations in {scope}; use an installation id"
        )),
    }
}

/// `; did you mean "X"?` for the candidate closest to `name`, when one is close enough.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let wanted = name.to_lowercase();
    let best = candidates
        .map(|c| (strsim::jaro_winkler(&wanted, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("; did you mean {c:?}?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn a_typo_gets_the_closest_name_and_nonsense_gets_none() {
        let names = ["Contoso Tasks", "Contoso Standup", "Fabrikam Notes"];
        assert_eq!(
            did_you_mean("Contoso Taks", names.into_iter()),
            "; did you mean \"Contoso Tasks\"?"
        );
        assert_eq!(did_you_mean("zzzz", names.into_iter()), "");
    }
}
