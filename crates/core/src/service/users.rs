//! User use cases: create, read, list, change (name, unit, roles), set a password.

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, FieldError, Result};
use crate::ids::{AgencyId, UserId};
use crate::page::{Page, PageRequest};
use crate::policy::{Action, Resource, Scope, allows};
use crate::role::Role;
use crate::user::{NewUser, User, UserChange, UserChangeInput, UserInput};

use super::{App, unique_to_field};

impl App {
    /// Creates a user in an existing agency (administrators).
    pub async fn create_user(&self, actor: &Actor, input: &UserInput) -> Result<User> {
        self.guard(actor, Action::UserCreate, &Resource::Collection, "user", None).await?;
        let new = NewUser::parse(input, &self.settings.password_policy).map_err(Error::Validation)?;
        // Hash before the transaction: it is slow and needs no lock.
        let hash = self.hasher.hash(new.password.clone()).await?;
        let mut tx = self.write().await?;
        if tx.find_agency(new.agency_id).await?.is_none() {
            return Err(Error::field("agency_id", "unknown", "no agency has this id"));
        }
        if tx.find_user_by_username(&new.username).await?.is_some() {
            return Err(Error::field("username", "taken", "this username is taken"));
        }
        let now = self.clock.now();
        let user = User {
            id: UserId::new_v7(),
            username: new.username,
            display_name: new.display_name,
            agency_id: new.agency_id,
            unit: new.unit,
            roles: new.roles,
            disabled: false,
            created_at: now,
            updated_at: now,
        };
        tx.insert_user(&user, &hash).await.map_err(unique_to_field)?;
        self.record(tx.as_mut(), actor, AuditEvent::success("user.create", "user", Some(user.id.to_string()))).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Changes a user's name, unit or roles (administrators). Who may is
    /// judged before the input is read. Taking a role away ends the user's
    /// sessions, so no open page keeps what the role allowed; an
    /// administrator cannot take the admin role from themselves (another
    /// administrator can), so nobody locks the last door from inside.
    pub async fn update_user(&self, actor: &Actor, id: UserId, input: &UserChangeInput) -> Result<User> {
        self.require_user_change(actor, id).await?;
        let change = UserChange::parse(input).map_err(Error::Validation)?;
        let mut tx = self.write().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        let Some(changed) = change.apply(&user, self.clock.now()) else { return Ok(user) };
        if actor.user_id() == Some(id) && user.roles.contains(&Role::Admin) && !changed.roles.contains(&Role::Admin) {
            return Err(Error::field(
                "roles",
                "own_admin",
                "you cannot take the admin role from yourself; another administrator can",
            ));
        }
        tx.update_user(&changed).await?;
        if !user.roles.is_subset(&changed.roles) {
            tx.delete_sessions_of(id).await?;
        }
        let mut ev = AuditEvent::success("user.update", "user", Some(id.to_string()));
        if changed.roles != user.roles {
            // Role names are not protected; the trail shows who gave whom what.
            let names: Vec<_> = changed.roles.iter().map(|r| r.as_str()).collect();
            ev.detail = Some(format!("roles={}", names.join(",")));
        }
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Refuses (and records the refusal) unless `actor` may change the user
    /// `id`: for a page that judges before it reads what it was sent.
    pub async fn require_user_change(&self, actor: &Actor, id: UserId) -> Result<()> {
        let user = self.read().await?.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        let resource = Resource::User { agency_id: user.agency_id };
        self.guard(actor, Action::UserUpdate, &resource, "user", Some(id.to_string())).await
    }

    /// The latest failed sign-in attempts on user `id`, newest first, with
    /// when and from which address (for the administrator who releases a
    /// lock, and judges whether it was a guess or an attack).
    pub async fn sign_in_failures(
        &self,
        actor: &Actor,
        id: UserId,
        limit: u32,
    ) -> Result<Vec<crate::audit::AuditRecord>> {
        self.require_user_change(actor, id).await?;
        let mut tx = self.read().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        let filter = crate::audit::AuditFilter {
            actor: Some(user.username),
            action_prefix: Some("session.sign_in".into()),
            outcome: Some("failure".into()),
            ..Default::default()
        };
        Ok(tx.audit_search(&filter, None, limit.clamp(1, 100)).await?)
    }

    /// One user.
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        let mut tx = self.read().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        if actor.user_id() != Some(id) {
            let resource = Resource::User { agency_id: user.agency_id };
            self.guard(actor, Action::UserRead, &resource, "user", Some(id.to_string())).await?;
        }
        Ok(user)
    }

    /// A page of users: all of them for those who may list every agency's
    /// users, else those of the actor's own agency. `agency` narrows the list.
    pub async fn list_users(&self, actor: &Actor, agency: Option<AgencyId>, page: &PageRequest) -> Result<Page<User>> {
        self.guard(actor, Action::UserList, &Resource::Collection, "user", None).await?;
        let filter = if allows(actor, Action::UserList, Scope::Other) {
            agency
        } else {
            match (agency, actor.agency_id) {
                (Some(a), Some(mine)) if a != mine => {
                    return Ok(Page { items: vec![], next: None });
                }
                (_, mine) => mine,
            }
        };
        let mut tx = self.read().await?;
        let rows = tx.list_users(filter, page.after.as_deref(), page.limit + 1).await?;
        Ok(Page::from_rows(rows, page.limit, |u| u.id.to_string()))
    }

    /// [`App::list_users`], each with when it was locked out (`None`: not
    /// locked), for the page where administrators release accounts.
    pub async fn list_accounts(
        &self,
        actor: &Actor,
        agency: Option<AgencyId>,
        page: &PageRequest,
    ) -> Result<Page<(User, Option<jiff::Timestamp>)>> {
        let users = self.list_users(actor, agency, page).await?;
        let mut tx = self.read().await?;
        let mut items = Vec::with_capacity(users.items.len());
        for u in users.items {
            let st = tx.sign_in_state(u.id).await?;
            let locked = st.locked_at.filter(|_| self.settings.lockout.is_locked(&st, self.clock.now()));
            items.push((u, locked));
        }
        Ok(Page { items, next: users.next })
    }

    /// Finds a user by username for the CLI and administrators.
    pub async fn find_user_by_username(&self, actor: &Actor, username: &str) -> Result<User> {
        let mut tx = self.read().await?;
        let user = tx
            .find_user_by_username(&username.trim().to_ascii_lowercase())
            .await?
            .ok_or(Error::NotFound { kind: "user" })?;
        let resource = Resource::User { agency_id: user.agency_id };
        self.guard(actor, Action::UserRead, &resource, "user", Some(user.id.to_string())).await?;
        Ok(user)
    }

    /// Sets a user's password (administrators) and ends the user's sessions.
    pub async fn set_password(&self, actor: &Actor, id: UserId, password: &str) -> Result<()> {
        // Who may, first: nobody else gets a validation answer or free hashing.
        let mut tx = self.read().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        drop(tx);
        let resource = Resource::User { agency_id: user.agency_id };
        self.guard(actor, Action::UserSetPassword, &resource, "user", Some(id.to_string())).await?;
        self.settings
            .password_policy
            .check("password", password)
            .map_err(|e: FieldError| Error::Validation(vec![e]))?;
        let hash = self.hasher.hash(password.to_string()).await?;
        let mut tx = self.write().await?;
        tx.set_password_hash(id, &hash, self.clock.now()).await?;
        tx.delete_sessions_of(id).await?;
        tx.delete_pending_of(id).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("user.set_password", "user", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user changes their own password: the attempt is counted before the
    /// current password is checked (as at sign-in), the new one must meet the
    /// policy; every session and pending sign-in of the user ends.
    pub async fn change_own_password(&self, actor: &Actor, current: &str, new: &str) -> Result<()> {
        let Some(id) = actor.user_id() else { return Err(Error::Unauthenticated) };
        self.settings.password_policy.check("new_password", new).map_err(|e| Error::Validation(vec![e]))?;
        if new == current {
            return Err(Error::field("new_password", "unchanged", "the new password must differ from the current one"));
        }
        let mut tx = self.write().await?;
        let user = tx.find_user(id).await?.ok_or(Error::Unauthenticated)?;
        if let Err(why) = self.reserve_attempt(tx.as_mut(), &user, actor, self.clock.now()).await? {
            let ev = AuditEvent::failure("user.change_password", "user", Some(id.to_string()), why);
            self.record(tx.as_mut(), actor, ev).await?;
            tx.delete_sessions_of(id).await?;
            tx.commit().await?;
            return Err(Error::Unauthenticated);
        }
        let hash = tx.password_hash(id).await?.unwrap_or_default();
        tx.commit().await?;
        if !self.hasher.verify(current.to_string(), hash).await {
            let mut tx = self.write().await?;
            self.attempt_failed(tx.as_mut(), &user, actor, "invalid_password").await?;
            if self.settings.lockout.is_locked(&tx.sign_in_state(id).await?, self.clock.now()) {
                tx.delete_sessions_of(id).await?;
            }
            tx.commit().await?;
            return Err(Error::field("current_password", "invalid", "the current password is not right"));
        }
        let hash = self.hasher.hash(new.to_string()).await?;
        let mut tx = self.write().await?;
        self.release_attempt(tx.as_mut(), &user).await?;
        tx.set_password_hash(id, &hash, self.clock.now()).await?;
        tx.delete_sessions_of(id).await?;
        tx.delete_pending_of(id).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("user.change_password", "user", Some(user.id.to_string())))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
