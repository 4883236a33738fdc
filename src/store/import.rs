//! Applying an imported sheet to the stored roster: plan it against the current roster
//! (keeping every resident the log names and every area an action covers), check the
//! result is a valid roster, then write it in one transaction. The writer calls this and
//! then swaps the new roster into live state; `muster import` calls it on a database no
//! server is serving.

use super::{Store, StoreError};
use crate::roster::import::{Keep, Plan, Report, SheetRoster, plan};
use crate::roster::{Roster, RosterError, RosterParts};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug in planning: the next roster breaks the model's rules. Nothing was written.
    #[error("the imported roster is inconsistent: {0}")]
    Roster(#[from] RosterError),
    #[error("the server is shutting down")]
    Closed,
}

/// What an import did: its report, and the new roster when one was written.
pub struct Imported {
    pub report: Report,
    pub roster: Option<Arc<Roster>>,
}

pub async fn import(
    store: &dyn Store,
    current: &RosterParts,
    sheet: &SheetRoster,
    dry_run: bool,
) -> Result<Imported, ImportFailure> {
    let keep = Keep {
        residents: store.named_residents().await?.into_values().flatten().collect(),
        nodes: store.actions().await?.into_iter().flat_map(|a| a.scope).collect(),
    };
    let Plan { parts, changes, mut report } = plan(current, &keep, sheet);
    report.dry_run = dry_run;
    let roster = Roster::new(parts)?;
    if dry_run || changes.is_empty() {
        return Ok(Imported { report, roster: None });
    }
    store.update_roster(roster.parts(), &changes).await?;
    tracing::info!(
        residents = sheet.residents(),
        added = report.residents.added,
        changed = report.residents.changed,
        removed = report.residents.removed,
        "roster imported"
    );
    Ok(Imported { report, roster: Some(Arc::new(roster)) })
}
