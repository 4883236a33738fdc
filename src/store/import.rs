//! Applying an imported sheet to the stored roster: plan it against the current roster
//! (keeping every resident the log names, every area an action covers, every staff
//! member something refers to and every point an action names), check the result is a
//! valid roster, make sure its removals were confirmed, then write it in one
//! transaction. The writer calls this and then swaps the new roster into live state;
//! `muster import` calls it on a database no server is serving.

use super::{Store, StoreError};
use crate::roster::import::{Keep, Plan, Problem, Report, SheetRoster, plan};
use crate::roster::{NodeId, Roster, RosterError, RosterParts};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug in planning: the next roster breaks the model's rules. Nothing was written.
    #[error("the imported roster is inconsistent: {0}")]
    Roster(#[from] RosterError),
    /// The sheet does not fit the roster: rows outside the area the import is limited
    /// to, areas or points the staff and point sheets name that do not exist. Nothing was written.
    #[error("the sheet has {} problem(s); nothing was imported", .0.len())]
    Invalid(Vec<Problem>),
    /// The import would remove rows, and `confirm_removals` did not give their total.
    /// Nothing was written; the report says what would be removed.
    #[error("the import would remove {} row(s); confirm that number to import", .0.removals.total)]
    Unconfirmed(Box<Report>),
    #[error("there is no area node {0}")]
    UnknownArea(NodeId),
    #[error("the server is shutting down")]
    Closed,
}

/// How to import: for real or as a check, over the whole roster or one area's part, and
/// the number of removals the person importing has confirmed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Plan and report, write nothing (needs no confirmation).
    pub dry_run: bool,
    /// Only this area node's part of the roster is the sheet's to change.
    pub area: Option<NodeId>,
    /// The total of removals (residents, households, staff, points) the person saw and
    /// confirmed; an import that removes anything needs exactly that number.
    pub confirm_removals: Option<usize>,
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
    options: ImportOptions,
) -> Result<Imported, ImportFailure> {
    if let Some(area) = options.area.filter(|a| !current.nodes.iter().any(|n| n.id == *a)) {
        return Err(ImportFailure::UnknownArea(area));
    }
    let actions = store.actions().await?;
    let keep = Keep {
        residents: store.named_residents().await?.into_values().flatten().collect(),
        nodes: actions.iter().flat_map(|a| a.scope.iter().copied()).collect(),
        staff: store.accounts().referenced_staff().await?.into_iter().collect(),
        points: actions.iter().flat_map(|a| a.points.iter().copied()).collect(),
    };
    let Plan { parts, changes, mut report } =
        plan(current, &keep, sheet, options.area).map_err(ImportFailure::Invalid)?;
    report.dry_run = options.dry_run;
    let roster = Roster::new(parts)?;
    // A number given must be the number: one confirmed for another sheet confirms nothing.
    let removals = report.removals.total;
    let confirmed = match options.confirm_removals {
        None => removals == 0,
        Some(n) => n == removals,
    };
    if !options.dry_run && !confirmed {
        return Err(ImportFailure::Unconfirmed(Box::new(report)));
    }
    if options.dry_run || changes.is_empty() {
        return Ok(Imported { report, roster: None });
    }
    store.update_roster(roster.parts(), &changes).await?;
    tracing::info!(
        residents = sheet.residents(),
        added = report.residents.added,
        changed = report.residents.changed,
        removed = report.residents.removed,
        staff_removed = report.staff.removed,
        points_removed = report.points.removed,
        area = options.area,
        "roster imported"
    );
    Ok(Imported { report, roster: Some(Arc::new(roster)) })
}
