//! `taskforce token create|list|revoke`: API tokens for machines.

use clap::Subcommand;
use taskforce_core::actor::Actor;
use taskforce_core::service::tokens::parse_lifetime;
use taskforce_core::user::parse_roles;

use super::{BadInput, open};
use crate::DbArg;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token for a user; prints only the token, once.
    Create {
        #[command(flatten)]
        db: DbArg,
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// The roles it may use, comma-separated (default: all of the user's).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// How long it works: 30d, 12h, 90m (at most 365d).
        #[arg(long, default_value = "30d")]
        expires: String,
        /// A label, such as "nightly export".
        #[arg(long, default_value = "api token")]
        name: String,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[command(flatten)]
        db: DbArg,
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// The token's id, from `token list`.
        id: String,
    },
}

pub async fn run(cfg: &mut Config, cmd: TokenCmd) -> anyhow::Result<()> {
    let admin = Actor::local_admin();
    match cmd {
        TokenCmd::Create { db, user, roles, expires, name } => {
            cfg.apply_db(db.db);
            let life = parse_lifetime(&expires)
                .map_err(|_| BadInput("--expires must be like 30d, 12h or 90m, at most 365d".into()))?;
            let roles = if roles.is_empty() {
                None
            } else {
                Some(parse_roles(&roles).map_err(|e| BadInput(format!("--roles: {}", e.message)))?)
            };
            let (store, app) = open(cfg).await?;
            let u = super::user::find(&app, &admin, &user).await?;
            let (token, t) = app.create_api_token(&admin, u.id, &name, roles, life).await?;
            store.close().await;
            // Shown once, on purpose, to the administrator who made it.
            out!("{token}");
            eprintln!("Token {} for {} expires {}; it is not shown again.", t.id, u.username, t.expires_at);
        }
        TokenCmd::List { db, user } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let uid = match user {
                Some(u) => Some(super::user::find(&app, &admin, &u).await?.id),
                None => None,
            };
            for t in app.list_api_tokens(&admin, uid).await? {
                let roles = t.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
                let state = if t.revoked_at.is_some() { "revoked" } else { "live" };
                out!("{}  {}  {}  {}  expires {}  {}", t.id, t.user_id, roles, state, t.expires_at, t.name);
            }
            store.close().await;
        }
        TokenCmd::Revoke { db, id } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let Ok(token) = id.trim().parse::<taskforce_core::ids::TokenId>() else {
                return Err(BadInput(format!("no live token {id:?}")).into());
            };
            match app.revoke_api_token(&admin, token).await {
                Ok(()) => eprintln!("Token {id} revoked."),
                Err(taskforce_core::Error::NotFound { .. }) => {
                    return Err(BadInput(format!("no live token {id:?}")).into());
                }
                Err(e) => return Err(e.into()),
            }
            store.close().await;
        }
    }
    Ok(())
}
