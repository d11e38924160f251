//! Agency use cases: create, read, list and bulk import.

use std::collections::HashSet;

use crate::actor::Actor;
use crate::agency::{Agency, AgencyInput, NewAgency};
use crate::audit::AuditEvent;
use crate::error::{Error, FieldError, Result};
use crate::ids::AgencyId;
use crate::page::{Page, PageRequest};
use crate::policy::{Action, Resource};
use crate::store::StoreTx;

use super::{App, unique_to_field};

/// How an import treats invalid rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Write nothing when any row is invalid.
    AllOrNothing,
    /// Write the valid rows, report the others.
    SkipInvalid,
    /// Validate only; write nothing.
    CheckOnly,
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Rows read (header excluded).
    pub rows: usize,
    /// Agencies created.
    pub created: usize,
    /// Invalid rows: the line number in the file and what is wrong with it.
    pub invalid: Vec<(usize, Vec<FieldError>)>,
    /// Whether anything was written.
    pub written: bool,
}

/// Checks a validated agency against what is already stored.
async fn check_unique(tx: &mut dyn StoreTx, a: &NewAgency) -> Result<Vec<FieldError>> {
    let mut errs = Vec::new();
    if tx.agency_name_taken(&a.name, a.home_state).await? {
        errs.push(FieldError::new("name", "taken", "an agency of this name already exists in this state"));
    }
    if tx.find_agency_by_short_name(&a.short_name).await?.is_some() {
        errs.push(FieldError::new("short_name", "taken", "this short name is taken"));
    }
    if let Some(ori) = &a.ori
        && tx.ori_taken(ori.as_str()).await?
    {
        errs.push(FieldError::new("ori", "taken", "another agency has this ORI"));
    }
    Ok(errs)
}

impl App {
    fn agency_from(&self, a: NewAgency) -> Agency {
        let now = self.clock.now();
        Agency {
            id: AgencyId::new_v7(),
            name: a.name,
            short_name: a.short_name,
            kind: a.kind,
            home_state: a.home_state,
            ori: a.ori,
            duty_contact: a.duty_contact,
            created_at: now,
            updated_at: now,
        }
    }

    /// Creates an agency (administrators).
    pub async fn create_agency(&self, actor: &Actor, input: &AgencyInput) -> Result<Agency> {
        self.guard(actor, Action::AgencyCreate, &Resource::Collection, "agency", None).await?;
        let new = NewAgency::parse(input).map_err(Error::Validation)?;
        let mut tx = self.write().await?;
        let errs = check_unique(tx.as_mut(), &new).await?;
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        let agency = self.agency_from(new);
        tx.insert_agency(&agency).await.map_err(unique_to_field)?;
        self.record(tx.as_mut(), actor, AuditEvent::success("agency.create", "agency", Some(agency.id.to_string())))
            .await?;
        tx.commit().await?;
        Ok(agency)
    }

    /// Refuses (and records the refusal) unless `actor` may change agency
    /// `id`: for a page that judges before it reads the form. An agency the
    /// actor may not read is not found.
    pub async fn require_agency_change(&self, actor: &Actor, id: AgencyId) -> Result<Agency> {
        let (agency, shares) = {
            let mut tx = self.read().await?;
            let agency = tx.find_agency(id).await?.ok_or(Error::NotFound { kind: "agency" })?;
            let shares = match actor.agency_id {
                Some(mine) => tx.agencies_share_operation(mine, id).await?,
                None => false,
            };
            (agency, shares)
        };
        let resource = Resource::Agency { id, shares_operation: shares };
        self.guard(actor, Action::AgencyUpdate, &resource, "agency", Some(id.to_string())).await?;
        Ok(agency)
    }

    /// Changes an agency (administrators): every field but its id, checked
    /// as on creation against the other agencies, audited with the names of
    /// the fields that changed.
    pub async fn update_agency(&self, actor: &Actor, id: AgencyId, input: &AgencyInput) -> Result<Agency> {
        self.require_agency_change(actor, id).await?;
        let new = NewAgency::parse(input).map_err(Error::Validation)?;
        let mut tx = self.write().await?;
        let old = tx.find_agency(id).await?.ok_or(Error::NotFound { kind: "agency" })?;
        // The agency's own name, short name and ORI are not taken by another.
        let mut errs = check_unique(tx.as_mut(), &new).await?;
        errs.retain(|e| match e.field.as_str() {
            "name" => !(new.name.eq_ignore_ascii_case(&old.name) && new.home_state == old.home_state),
            "short_name" => new.short_name != old.short_name,
            "ori" => new.ori != old.ori,
            _ => true,
        });
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        let agency = Agency {
            id,
            name: new.name,
            short_name: new.short_name,
            kind: new.kind,
            home_state: new.home_state,
            ori: new.ori,
            duty_contact: new.duty_contact,
            created_at: old.created_at,
            updated_at: self.clock.now(),
        };
        let changed: Vec<&str> = [
            ("name", agency.name != old.name),
            ("short_name", agency.short_name != old.short_name),
            ("kind", agency.kind != old.kind),
            ("home_state", agency.home_state != old.home_state),
            ("ori", agency.ori != old.ori),
            ("duty_contact", agency.duty_contact != old.duty_contact),
        ]
        .into_iter()
        .filter_map(|(f, c)| c.then_some(f))
        .collect();
        if changed.is_empty() {
            return Ok(old);
        }
        tx.update_agency(&agency).await.map_err(unique_to_field)?;
        let event = AuditEvent {
            detail: Some(format!("changed={}", changed.join("+"))),
            ..AuditEvent::success("agency.update", "agency", Some(id.to_string()))
        };
        self.record(tx.as_mut(), actor, event).await?;
        tx.commit().await?;
        Ok(agency)
    }

    /// One agency.
    pub async fn get_agency(&self, actor: &Actor, id: AgencyId) -> Result<Agency> {
        let mut tx = self.read().await?;
        let agency = tx.find_agency(id).await?.ok_or(Error::NotFound { kind: "agency" })?;
        let shares = match actor.agency_id {
            Some(mine) => tx.agencies_share_operation(mine, id).await?,
            None => false,
        };
        let resource = Resource::Agency { id, shares_operation: shares };
        self.guard(actor, Action::AgencyRead, &resource, "agency", Some(id.to_string())).await?;
        Ok(agency)
    }

    /// An agency by id or short name (`mshp`), as people type it.
    pub async fn find_agency(&self, actor: &Actor, key: &str) -> Result<Agency> {
        let key = key.trim();
        if let Ok(id) = key.parse::<AgencyId>() {
            return self.get_agency(actor, id).await;
        }
        let mut tx = self.read().await?;
        let agency =
            tx.find_agency_by_short_name(&key.to_ascii_lowercase()).await?.ok_or(Error::NotFound { kind: "agency" })?;
        drop(tx);
        self.get_agency(actor, agency.id).await
    }

    /// A page of agencies: every agency for those who may read any (they
    /// invite agencies), otherwise the actor's own and those it shares an
    /// operation with.
    pub async fn list_agencies(&self, actor: &Actor, page: &PageRequest) -> Result<Page<Agency>> {
        self.guard(actor, Action::AgencyList, &Resource::Collection, "agency", None).await?;
        let visible_to = if crate::policy::allows(actor, Action::AgencyRead, crate::policy::Scope::Other) {
            None
        } else {
            match actor.agency_id {
                Some(a) => Some(a),
                None => return Ok(Page { items: vec![], next: None }),
            }
        };
        let mut tx = self.read().await?;
        let rows = tx.list_agencies(visible_to, page.after.as_deref(), page.limit + 1).await?;
        Ok(Page::from_rows(rows, page.limit, |a| a.id.to_string()))
    }

    /// Imports agencies from numbered rows (`line`, input). Every row is
    /// validated first, against the database and the other rows; when any is
    /// invalid nothing is written unless `mode` is `SkipInvalid`. `progress` is called
    /// with the number of rows handled so far.
    pub async fn import_agencies(
        &self,
        actor: &Actor,
        rows: &[(usize, AgencyInput)],
        mode: ImportMode,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> Result<ImportReport> {
        self.guard(actor, Action::AgencyCreate, &Resource::Collection, "agency", None).await?;
        let mut report = ImportReport { rows: rows.len(), ..Default::default() };
        let mut tx = self.write().await?;
        let mut names = HashSet::new();
        let mut shorts = HashSet::new();
        let mut oris = HashSet::new();
        let mut valid = Vec::new();
        for (i, (line, input)) in rows.iter().enumerate() {
            match NewAgency::parse(input) {
                Err(errs) => report.invalid.push((*line, errs)),
                Ok(a) => {
                    let mut errs = check_unique(tx.as_mut(), &a).await?;
                    if !names.insert((a.name.to_lowercase(), a.home_state)) {
                        errs.push(FieldError::new("name", "duplicate", "this agency appears earlier in the file"));
                    }
                    if !shorts.insert(a.short_name.clone()) {
                        errs.push(FieldError::new(
                            "short_name",
                            "duplicate",
                            "this short name appears earlier in the file",
                        ));
                    }
                    if let Some(o) = &a.ori
                        && !oris.insert(o.clone())
                    {
                        errs.push(FieldError::new("ori", "duplicate", "this ORI appears earlier in the file"));
                    }
                    if errs.is_empty() {
                        valid.push(a);
                    } else {
                        report.invalid.push((*line, errs));
                    }
                }
            }
            progress(i + 1);
        }
        let write = match mode {
            ImportMode::AllOrNothing => report.invalid.is_empty(),
            ImportMode::SkipInvalid => true,
            ImportMode::CheckOnly => false,
        };
        if !write {
            return Ok(report);
        }
        for a in valid {
            let agency = self.agency_from(a);
            tx.insert_agency(&agency).await.map_err(unique_to_field)?;
            self.record(
                tx.as_mut(),
                actor,
                AuditEvent::success("agency.create", "agency", Some(agency.id.to_string())),
            )
            .await?;
            report.created += 1;
        }
        self.record(
            tx.as_mut(),
            actor,
            AuditEvent {
                detail: Some(format!(
                    "rows={} created={} invalid={}",
                    report.rows,
                    report.created,
                    report.invalid.len()
                )),
                ..AuditEvent::success("agency.import", "agency", None)
            },
        )
        .await?;
        tx.commit().await?;
        report.written = report.created > 0;
        Ok(report)
    }
}
