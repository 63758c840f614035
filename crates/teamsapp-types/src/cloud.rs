//! National clouds: where Graph and the sign-in endpoint live, and which operations each offers.
//!
//! Availability follows the national-cloud tables of each operation's documentation, written once
//! in the fragment's `x-teamsapp-national-clouds` and generated into
//! [`Route::clouds`](crate::Route::clouds): chat installation operations exist in all four
//! clouds; team installation operations, user-scope install and uninstall, and catalog publish
//! and update do not exist in China (21Vianet).

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A Microsoft Graph deployment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NationalCloud {
    /// The global service (`graph.microsoft.com`).
    #[default]
    Global,
    /// US Government L4 (GCC High, `graph.microsoft.us`).
    UsGovL4,
    /// US Government L5 (DOD, `dod-graph.microsoft.us`).
    UsGovL5Dod,
    /// China, operated by 21Vianet (`microsoftgraph.chinacloudapi.cn`).
    China,
}

/// The names [`NationalCloud::from_str`] accepts, for error messages.
const EXPECTED: &str = "global, usgov, usgovl4, usgovdod, usgovl5, dod, china";

/// Characters kept as they are in a tenant path segment; everything else is percent-encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl NationalCloud {
    /// Every cloud, global first.
    pub const ALL: [Self; 4] = [Self::Global, Self::UsGovL4, Self::UsGovL5Dod, Self::China];

    /// The short name used on command lines and in configuration (`global`, `usgov`, `usgovdod`,
    /// `china`); [`FromStr`] also accepts the aliases `usgovl4`, `usgovl5` and `dod`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::UsGovL4 => "usgov",
            Self::UsGovL5Dod => "usgovdod",
            Self::China => "china",
        }
    }

    /// A human-readable name, as Microsoft's documentation writes it.
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::Global => "Global service",
            Self::UsGovL4 => "US Government L4",
            Self::UsGovL5Dod => "US Government L5 (DOD)",
            Self::China => "China operated by 21Vianet",
        }
    }

    /// The Graph host, e.g. `graph.microsoft.com`.
    pub const fn graph_host(self) -> &'static str {
        match self {
            Self::Global => "graph.microsoft.com",
            Self::UsGovL4 => "graph.microsoft.us",
            Self::UsGovL5Dod => "dod-graph.microsoft.us",
            Self::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The Microsoft Entra sign-in host, e.g. `login.microsoftonline.com`.
    pub const fn login_host(self) -> &'static str {
        match self {
            Self::Global => "login.microsoftonline.com",
            Self::UsGovL4 | Self::UsGovL5Dod => "login.microsoftonline.us",
            Self::China => "login.chinacloudapi.cn",
        }
    }

    /// The Graph base URL without a version, e.g. `https://graph.microsoft.com`; callers append
    /// `/v1.0`.
    pub const fn graph_base_url(self) -> &'static str {
        match self {
            Self::Global => "https://graph.microsoft.com",
            Self::UsGovL4 => "https://graph.microsoft.us",
            Self::UsGovL5Dod => "https://dod-graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The token authority for `tenant` (a tenant id, a domain, `organizations` or `common`),
    /// e.g. `https://login.microsoftonline.com/contoso.onmicrosoft.com`.
    ///
    /// The tenant is percent-encoded as one path segment, so it cannot change the URL's shape.
    pub fn authority_url(self, tenant: &str) -> String {
        format!(
            "https://{}/{}",
            self.login_host(),
            utf8_percent_encode(tenant, PATH_SEGMENT)
        )
    }

    /// The cloud whose Graph host is `host` (ASCII case-insensitive), if any.
    pub fn from_graph_host(host: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|cloud| cloud.graph_host().eq_ignore_ascii_case(host))
    }

    /// Whether the operation with this `operationId` is available in this cloud (its route's
    /// [`clouds`](crate::Route::clouds)).
    ///
    /// Operation ids this crate does not know are assumed available everywhere.
    pub fn supports(self, operation_id: &str) -> bool {
        crate::routes::ALL
            .iter()
            .find(|route| route.operation_id == operation_id)
            .is_none_or(|route| route.available_in(self))
    }

    /// The `operationId`s this cloud does not offer, in the fragment's order.
    pub fn unsupported_operations(self) -> impl Iterator<Item = &'static str> {
        crate::routes::ALL
            .iter()
            .filter(move |route| !route.available_in(self))
            .map(|route| route.operation_id)
    }
}

impl fmt::Display for NationalCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NationalCloud {
    type Err = Error;

    /// Parses a cloud name, ASCII case-insensitively.
    fn from_str(s: &str) -> Result<Self, Error> {
        const NAMES: &[(&str, NationalCloud)] = &[
            ("global", NationalCloud::Global),
            ("usgov", NationalCloud::UsGovL4),
            ("usgovl4", NationalCloud::UsGovL4),
            ("usgovdod", NationalCloud::UsGovL5Dod),
            ("usgovl5", NationalCloud::UsGovL5Dod),
            ("dod", NationalCloud::UsGovL5Dod),
            ("china", NationalCloud::China),
        ];
        NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|&(_, cloud)| cloud)
            .ok_or_else(|| Error::unknown_name("national cloud", s, EXPECTED))
    }
}

impl Serialize for NationalCloud {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for NationalCloud {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_urls() {
        use NationalCloud::{China, Global, UsGovL4, UsGovL5Dod};
        let expected = [
            (Global, "graph.microsoft.com", "login.microsoftonline.com"),
            (UsGovL4, "graph.microsoft.us", "login.microsoftonline.us"),
            (
                UsGovL5Dod,
                "dod-graph.microsoft.us",
                "login.microsoftonline.us",
            ),
            (
                China,
                "microsoftgraph.chinacloudapi.cn",
                "login.chinacloudapi.cn",
            ),
        ];
        for (cloud, graph, login) in expected {
            assert_eq!(cloud.graph_host(), graph);
            assert_eq!(cloud.login_host(), login);
            assert_eq!(cloud.graph_base_url(), format!("https://{graph}"));
            assert_eq!(
                cloud.authority_url("contoso.onmicrosoft.com"),
                format!("https://{login}/contoso.onmicrosoft.com")
            );
            assert_eq!(NationalCloud::from_graph_host(graph), Some(cloud));
        }
        assert_eq!(NationalCloud::from_graph_host("example.com"), None);
        assert_eq!(
            Global.authority_url("a/b?c"),
            "https://login.microsoftonline.com/a%2Fb%3Fc"
        );
    }

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for cloud in NationalCloud::ALL {
            assert_eq!(cloud.to_string().parse::<NationalCloud>().unwrap(), cloud);
            let json = serde_json::to_string(&cloud).unwrap();
            assert_eq!(serde_json::from_str::<NationalCloud>(&json).unwrap(), cloud);
        }
        assert_eq!(
            "USGovL4".parse::<NationalCloud>().unwrap(),
            NationalCloud::UsGovL4
        );
        assert_eq!(
            "usgovl5".parse::<NationalCloud>().unwrap(),
            NationalCloud::UsGovL5Dod
        );
        assert_eq!(
            "DoD".parse::<NationalCloud>().unwrap(),
            NationalCloud::UsGovL5Dod
        );
        assert_eq!(NationalCloud::default(), NationalCloud::Global);
        let err = "mars".parse::<NationalCloud>().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(r#"unknown national cloud "mars": expected one of {EXPECTED}"#)
        );
    }

    #[test]
    fn availability() {
        for cloud in NationalCloud::ALL {
            for op in [
                "chats.ListInstalledApps",
                "chats.CreateInstalledApps",
                "chats.GetInstalledApps",
                "chats.DeleteInstalledApps",
                "chats.chat.installedApps.teamsAppInstallation.upgrade",
                "users.teamwork.ListInstalledApps",
                "users.teamwork.GetInstalledApps",
                "users.user.teamwork.installedApps.userScopeTeamsAppInstallation.upgrade",
                "appCatalogs.ListTeamsApps",
                "batch",
                "not.an.operation",
            ] {
                assert!(cloud.supports(op), "{cloud} {op}");
            }
        }
        for op in NOT_IN_CHINA {
            assert!(!NationalCloud::China.supports(op));
            assert!(NationalCloud::UsGovL5Dod.supports(op));
        }
        assert_eq!(
            NationalCloud::China
                .unsupported_operations()
                .collect::<Vec<_>>(),
            NOT_IN_CHINA
        );
        assert_eq!(NationalCloud::Global.unsupported_operations().count(), 0);
    }

    /// The documentation's national-cloud tables: what China (21Vianet) does not offer, in the
    /// fragment's order. The generated routes must say the same.
    const NOT_IN_CHINA: &[&str] = &[
        "teams.ListInstalledApps",
        "teams.CreateInstalledApps",
        "teams.installedApps.GetCount-d47b",
        "teams.GetInstalledApps",
        "teams.DeleteInstalledApps",
        "teams.installedApps.GetTeamsApp",
        "teams.installedApps.GetTeamsAppDefinition",
        "teams.team.installedApps.teamsAppInstallation.upgrade",
        "users.teamwork.CreateInstalledApps",
        "users.teamwork.DeleteInstalledApps",
        "appCatalogs.CreateTeamsApps",
        "appCatalogs.teamsApps.CreateAppDefinitions",
    ];
}
