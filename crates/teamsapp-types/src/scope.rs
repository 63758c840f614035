//! Where an installation lives: a chat, a team or a user's personal scope, with its typed id.

use crate::ids::{ChatId, TeamId, UserId};
use crate::permissions::InstallationScope;
use std::fmt;

/// Where an installation lives.
///
/// Shared by the model, the client and the CLI so that the three scopes are spelled once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A chat.
    Chat(ChatId),
    /// A team.
    Team(TeamId),
    /// A user's personal scope.
    User(UserId),
}

impl Scope {
    /// Parses `chat|team|user` and an id.
    pub fn parse(kind: &str, id: &str) -> Result<Self, String> {
        let id = id.trim();
        match kind.trim().to_ascii_lowercase().as_str() {
            "chat" | "chats" => ChatId::new(id).map(Self::Chat).map_err(|e| e.to_string()),
            "team" | "teams" => TeamId::new(id).map(Self::Team).map_err(|e| e.to_string()),
            "user" | "users" => UserId::new(id).map(Self::User).map_err(|e| e.to_string()),
            other => Err(format!(
                "unknown scope {other:?}: expected chat, team or user"
            )),
        }
    }

    /// `chat`, `team` or `user`.
    pub fn kind(&self) -> &'static str {
        self.installation_scope().as_str()
    }

    /// The kind of scope, without its id.
    pub fn installation_scope(&self) -> InstallationScope {
        match self {
            Self::Chat(_) => InstallationScope::Chat,
            Self::Team(_) => InstallationScope::Team,
            Self::User(_) => InstallationScope::User,
        }
    }

    /// The chat, team or user id.
    pub fn id(&self) -> &str {
        match self {
            Self::Chat(id) => id.as_str(),
            Self::Team(id) => id.as_str(),
            Self::User(id) => id.as_str(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind(), self.id())
    }
}

impl From<ChatId> for Scope {
    fn from(id: ChatId) -> Self {
        Self::Chat(id)
    }
}

impl From<TeamId> for Scope {
    fn from(id: TeamId) -> Self {
        Self::Team(id)
    }
}

impl From<UserId> for Scope {
    fn from(id: UserId) -> Self {
        Self::User(id)
    }
}

impl From<&ChatId> for Scope {
    fn from(id: &ChatId) -> Self {
        Self::Chat(id.clone())
    }
}

impl From<&TeamId> for Scope {
    fn from(id: &TeamId) -> Self {
        Self::Team(id.clone())
    }
}

impl From<&UserId> for Scope {
    fn from(id: &UserId) -> Self {
        Self::User(id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scope_and_refuses_others() {
        let chat = Scope::parse("chat", "19:ea28e88c00e94c7786b065394a61f296@thread.v2").unwrap();
        assert_eq!(
            chat.to_string(),
            "chat/19:ea28e88c00e94c7786b065394a61f296@thread.v2"
        );
        assert_eq!(
            Scope::parse("Teams", " 6903fa93-605b-43ef-920e-77c4729f8258 ")
                .unwrap()
                .kind(),
            "team"
        );
        assert_eq!(
            Scope::parse("user", "alice@contoso.com").unwrap().id(),
            "alice@contoso.com"
        );
        assert!(
            Scope::parse("team", "nope")
                .unwrap_err()
                .starts_with("invalid team id")
        );
        assert!(
            Scope::parse("galaxy", "x")
                .unwrap_err()
                .contains("unknown scope")
        );
    }

    #[test]
    fn requests_name_their_scope() {
        let team = "6903fa93-605b-43ef-920e-77c4729f8258";
        let request = crate::Request::decode(
            crate::RequestKind::UpgradeTeamApp,
            &[
                team,
                "NjkwM2ZhOTMtNjA1Yi00M2VmLTkyMGUtNzdjNDcyOWY4MjU4IyMxMjM=",
            ],
            b"",
        )
        .unwrap();
        assert_eq!(
            request.scope(),
            Some(Scope::Team(TeamId::new(team).unwrap()))
        );
        let catalog =
            crate::Request::decode(crate::RequestKind::ListCatalogApps, &[] as &[&str], b"")
                .unwrap();
        assert_eq!(catalog.scope(), None);
        let chat = ChatId::new("19:ea28e88c00e94c7786b065394a61f296@thread.v2").unwrap();
        assert_eq!(Scope::from(&chat), Scope::Chat(chat));
    }
}
