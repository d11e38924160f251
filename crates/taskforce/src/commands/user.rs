//! `taskforce user add|list|set|unlock|reset-factor|disable|enable|passwd`.

use std::io::{BufRead, IsTerminal};

use clap::{Subcommand, ValueEnum};
use taskforce_core::actor::Actor;
use taskforce_core::token::new_password;
use taskforce_core::user::UserInput;

use super::{BadInput, open};
use crate::DbArg;
use crate::config::Config;

/// Output formats of lists.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array for programs.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user. Without --password-stdin a random password is printed once.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// Username, such as officer.mshp.
        username: String,
        /// The user's agency: its short name or id.
        #[arg(long)]
        agency: String,
        /// Roles, comma-separated: admin, commander, coordinator, officer, analyst, pio, advocate.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Unit within the agency.
        #[arg(long)]
        unit: Option<String>,
        /// Name shown to people.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: DbArg,
        /// Only this agency's users (short name or id).
        #[arg(long)]
        agency: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Change a user's roles, unit or display name; what is not given stays. Taking a role away ends their sessions.
    Set {
        #[command(flatten)]
        db: DbArg,
        /// Username.
        username: String,
        /// Every role the user is to hold, comma-separated (replacing the current ones).
        #[arg(long, value_delimiter = ',')]
        roles: Option<Vec<String>>,
        /// Unit within the agency; "" clears it.
        #[arg(long)]
        unit: Option<String>,
        /// Name shown to people.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Release an account locked after failed sign-ins.
    Unlock {
        #[command(flatten)]
        db: DbArg,
        /// Username.
        username: String,
    },
    /// Clear a lost second factor: the user sets up a new one at the next sign-in.
    ResetFactor {
        #[command(flatten)]
        db: DbArg,
        /// Username.
        username: String,
    },
    /// Disable an account and end its sessions.
    Disable {
        #[command(flatten)]
        db: DbArg,
        /// Username.
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        #[command(flatten)]
        db: DbArg,
        /// Username.
        username: String,
    },
    /// Set a user's password and end their sessions. Without --password-stdin a random one is printed once.
    Passwd {
        #[command(flatten)]
        db: DbArg,
        /// Username.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((new_password()?, true));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (input is visible): ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(BadInput("no password on standard input".into()).into());
    }
    Ok((pw, false))
}

pub async fn run(cfg: &mut Config, cmd: UserCmd) -> anyhow::Result<()> {
    let admin = Actor::local_admin();
    match cmd {
        UserCmd::Add { db, username, agency, roles, unit, display_name, password_stdin } => {
            cfg.apply_db(db.db);
            let (password, generated) = read_password(password_stdin)?;
            let (store, app) = open(cfg).await?;
            let agency = app.find_agency(&admin, &agency).await.map_err(|e| {
                not_found_as(e, format!("no agency {agency:?}; list them with `taskforce agency list`"))
            })?;
            let input = UserInput {
                username,
                display_name,
                agency_id: agency.id.to_string(),
                unit,
                roles,
                password: password.clone(),
            };
            let user = app.create_user(&admin, &input).await?;
            eprintln!("Created {} in {}.", user.username, agency.name);
            if generated {
                // Shown once, on purpose, to the operator who created the account.
                out!("{}", password);
                eprintln!("That is the password; it is not shown again.");
            }
            store.close().await;
        }
        UserCmd::List { db, agency, format } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let agency = match agency {
                Some(a) => {
                    Some(app.find_agency(&admin, &a).await.map_err(|e| not_found_as(e, format!("no agency {a:?}")))?)
                }
                None => None,
            };
            let (app, admin, agency) = (&app, &admin, agency.as_ref().map(|a| a.id));
            let all = super::every_page(|page| async move { app.list_users(admin, agency, &page).await }).await?;
            match format {
                Format::Json => {
                    let v: Vec<_> = all
                        .iter()
                        .map(|u| {
                            serde_json::json!({
                                "id": u.id.to_string(), "username": u.username, "display_name": u.display_name,
                                "agency_id": u.agency_id.to_string(), "unit": u.unit,
                                "roles": u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                                "disabled": u.disabled,
                            })
                        })
                        .collect();
                    out!("{}", serde_json::to_string_pretty(&v)?);
                }
                Format::Table => {
                    out!("{:<28} {:<24} UNIT", "USERNAME", "ROLES");
                    for u in &all {
                        let roles = u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
                        out!("{:<28} {:<24} {}", u.username, roles, u.unit.as_deref().unwrap_or("-"));
                    }
                }
            }
            store.close().await;
        }
        UserCmd::Set { db, username, roles, unit, display_name } => {
            cfg.apply_db(db.db);
            if roles.is_none() && unit.is_none() && display_name.is_none() {
                return Err(BadInput("nothing to change: give --roles, --unit or --display-name".into()).into());
            }
            let (store, app) = open(cfg).await?;
            let user = find(&app, &admin, &username).await?;
            let input = taskforce_core::user::UserChangeInput { display_name, unit, roles };
            let after = app.update_user(&admin, user.id, &input).await?;
            let roles = after.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
            eprintln!("{} now holds {roles}; unit {}.", after.username, after.unit.as_deref().unwrap_or("none"));
            if !user.roles.is_subset(&after.roles) {
                eprintln!("A role was taken away: their sessions have ended.");
            }
            store.close().await;
        }
        UserCmd::Unlock { db, username } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let user = find(&app, &admin, &username).await?;
            app.unlock_user(&admin, user.id).await?;
            eprintln!("{} is unlocked.", user.username);
            store.close().await;
        }
        UserCmd::ResetFactor { db, username } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let user = find(&app, &admin, &username).await?;
            app.reset_factor(&admin, user.id).await?;
            eprintln!("{}'s second factor is cleared; they set up a new one at their next sign-in.", user.username);
            store.close().await;
        }
        UserCmd::Disable { db, username } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let user = find(&app, &admin, &username).await?;
            app.set_user_disabled(&admin, user.id, true).await?;
            eprintln!("{} is disabled; their sessions have ended.", user.username);
            store.close().await;
        }
        UserCmd::Enable { db, username } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let user = find(&app, &admin, &username).await?;
            app.set_user_disabled(&admin, user.id, false).await?;
            eprintln!("{} is enabled.", user.username);
            store.close().await;
        }
        UserCmd::Passwd { db, username, password_stdin } => {
            cfg.apply_db(db.db);
            let (password, generated) = read_password(password_stdin)?;
            let (store, app) = open(cfg).await?;
            let user = find(&app, &admin, &username).await?;
            app.set_password(&admin, user.id, &password).await?;
            eprintln!("Password of {} changed; their sessions have ended.", user.username);
            if generated {
                out!("{}", password);
            }
            store.close().await;
        }
    }
    Ok(())
}

pub async fn find(
    app: &taskforce_core::service::App,
    admin: &Actor,
    username: &str,
) -> anyhow::Result<taskforce_core::user::User> {
    match app.find_user_by_username(admin, username).await {
        Ok(u) => Ok(u),
        Err(taskforce_core::Error::NotFound { .. }) => Err(BadInput(format!("no user {username:?}")).into()),
        Err(e) => Err(e.into()),
    }
}

/// A not-found error becomes bad input (exit 2); anything else stays what it is.
fn not_found_as(e: taskforce_core::Error, msg: String) -> anyhow::Error {
    match e {
        taskforce_core::Error::NotFound { .. } => BadInput(msg).into(),
        other => other.into(),
    }
}
