//! Discovery operations a fleet tool uses to find installations: users, a user's chats, a chat,
//! teams.

use teamsapp_types::entities;
use teamsapp_types::{Chat, ChatId, Team, User, UserId, routes};

use crate::authz::{caller_user, check_membership, check_token};
use crate::error::echo;
use crate::installations::resolve_scope;
use crate::project::{ChatView, TeamView, UserView, chat_wire, team_wire, user_wire};
use crate::query::{ListKind, ListRequest, Page, get_shape};
use crate::spec::InstallationScope;
use crate::{Caller, ModelError, Query, World};

impl World {
    /// `GET /users` (`users.user.ListUser`): `$filter` on `id`, `displayName`,
    /// `userPrincipalName`, `mail`, `userType`, `accountEnabled`; `$select`; paging.
    pub fn list_users(&self, caller: &Caller, query: &Query) -> Result<Page<User>, ModelError> {
        let route = &routes::LIST_USERS;
        let tenant = self.caller_tenant(caller)?;
        let request = ListRequest::parse(
            query,
            route,
            &entities::USER,
            ListKind::Users,
            self.config.page_size,
        )?;
        check_token(caller, route)?;
        let items = tenant
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| request.keeps(&UserView(u)));
        Ok(
            request.collect_page(items.map(|(i, u)| (i as u64, u)), |u| {
                user_wire(u, &request.shape)
            }),
        )
    }

    /// `GET /users/{user-id | upn}/chats` (`users.ListChats`): the chats the user is a member
    /// of. A delegated caller may list only their own chats (`403` otherwise).
    pub fn list_user_chats(
        &self,
        caller: &Caller,
        user: &UserId,
        query: &Query,
    ) -> Result<Page<Chat>, ModelError> {
        let route = &routes::LIST_USER_CHATS;
        let tenant = self.caller_tenant(caller)?;
        let request = ListRequest::parse(
            query,
            route,
            &entities::CHAT,
            ListKind::Chats,
            self.config.page_size,
        )?;
        check_token(caller, route)?;
        let scope = resolve_scope(tenant, InstallationScope::User, user.as_str())?;
        check_membership(tenant, caller_user(tenant, caller)?, scope)?;
        let rec = &tenant.users[scope.index as usize];
        let items = rec
            .chats
            .iter()
            .filter_map(|&i| Some((i, tenant.chats.get(i as usize)?)))
            .filter(|(_, chat)| request.keeps(&ChatView { tenant, chat }));
        Ok(
            request.collect_page(items.map(|(i, c)| (u64::from(i), c)), |chat| {
                chat_wire(tenant, chat, &request.shape)
            }),
        )
    }

    /// `GET /chats/{chat-id}` (`chats.chat.GetChat`). `$expand=installedApps` is a `400`: the
    /// CSDL lists it in `NonExpandableProperties` (reference §1.6). A delegated caller must be a
    /// member.
    pub fn get_chat(
        &self,
        caller: &Caller,
        chat: &ChatId,
        query: &Query,
    ) -> Result<Chat, ModelError> {
        let route = &routes::GET_CHAT;
        let tenant = self.caller_tenant(caller)?;
        let shape = get_shape(query, route, &entities::CHAT)?;
        check_token(caller, route)?;
        let scope = resolve_scope(tenant, InstallationScope::Chat, chat.as_str())?;
        check_membership(tenant, caller_user(tenant, caller)?, scope)?;
        let rec = tenant.chats.get(scope.index as usize).ok_or_else(|| {
            ModelError::not_found(format!("Chat '{}' was not found.", echo(chat.as_str())))
        })?;
        Ok(chat_wire(tenant, rec, &shape))
    }

    /// `GET /teams` (`teams.team.ListTeam`): application permissions only, as Graph documents.
    pub fn list_teams(&self, caller: &Caller, query: &Query) -> Result<Page<Team>, ModelError> {
        let route = &routes::LIST_TEAMS;
        let tenant = self.caller_tenant(caller)?;
        let request = ListRequest::parse(
            query,
            route,
            &entities::TEAM,
            ListKind::Teams,
            self.config.page_size,
        )?;
        check_token(caller, route)?;
        let items = tenant
            .teams
            .iter()
            .enumerate()
            .filter(|(_, t)| request.keeps(&TeamView(t)));
        Ok(
            request.collect_page(items.map(|(i, t)| (i as u64, t)), |t| {
                team_wire(tenant, t, &request.shape)
            }),
        )
    }
}
