//! The rows of household card codes (see `crate::cards`, which makes the codes and says
//! what they mean). The statements here are plain SQL with `$n` placeholders, which
//! SQLite and PostgreSQL read alike; each backend runs them on its own pools, so the two
//! cannot drift apart in what they store.

use crate::roster::{HouseholdId, ResidentId};

/// Whose a code is: a household's (its card's big QR code) or one resident's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    Household(HouseholdId),
    Resident(ResidentId),
}

/// One code as stored. `code` is the code's canonical text (see `cards::Code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCode {
    pub code: String,
    pub owner: Owner,
    /// Unix microseconds.
    pub issued_at: i64,
    /// When a reissue replaced it (unix microseconds); `None` while it is in use.
    pub replaced_at: Option<i64>,
}

/// A row as both backends read it.
#[derive(sqlx::FromRow)]
pub(super) struct CardCodeRow {
    code: String,
    household_id: Option<i64>,
    resident_id: Option<i64>,
    issued_at: i64,
    replaced_at: Option<i64>,
}

impl TryFrom<CardCodeRow> for CardCode {
    type Error = super::StoreError;

    fn try_from(r: CardCodeRow) -> Result<Self, Self::Error> {
        let owner = match (r.household_id, r.resident_id) {
            (Some(h), None) => Owner::Household(h),
            (None, Some(p)) => Owner::Resident(p),
            _ => return Err(super::StoreError::Corrupt("a card code with no single owner".into())),
        };
        Ok(CardCode { code: r.code, owner, issued_at: r.issued_at, replaced_at: r.replaced_at })
    }
}

impl Owner {
    /// The `(household_id, resident_id)` columns.
    pub(super) fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            Owner::Household(h) => (Some(h), None),
            Owner::Resident(p) => (None, Some(p)),
        }
    }
}

#[cfg(test)]
const COLUMNS: &str = "code, household_id, resident_id, issued_at, replaced_at";

/// Every code in use.
pub(super) const SELECT_CURRENT: &str =
    "SELECT code, household_id, resident_id, issued_at, replaced_at FROM card_codes WHERE replaced_at IS NULL";
/// The codes in use on one household's card: its own and its residents' (as the roster
/// stores them now: a resident who moved house carries their code along).
pub(super) const SELECT_CURRENT_OF_HOUSEHOLD: &str = "SELECT code, household_id, resident_id, issued_at, replaced_at FROM card_codes WHERE replaced_at IS NULL \
     AND (household_id = $1 OR resident_id IN (SELECT id FROM residents WHERE household_id = $1))";
/// One code, in use or replaced.
pub(super) const SELECT_ONE: &str =
    "SELECT code, household_id, resident_id, issued_at, replaced_at FROM card_codes WHERE code = $1";
/// A new code; one that loses a race with another printing (the owner has a code in use
/// now) is left out, and the caller reads what is in use.
pub(super) const INSERT_OR_SKIP: &str = "INSERT INTO card_codes (code, household_id, resident_id, issued_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
/// A new code that must go in (a reissue, after the old one was marked replaced).
pub(super) const INSERT: &str =
    "INSERT INTO card_codes (code, household_id, resident_id, issued_at) VALUES ($1, $2, $3, $4)";
pub(super) const REPLACE_HOUSEHOLD: &str =
    "UPDATE card_codes SET replaced_at = $1 WHERE replaced_at IS NULL AND household_id = $2";
pub(super) const REPLACE_RESIDENT: &str =
    "UPDATE card_codes SET replaced_at = $1 WHERE replaced_at IS NULL AND resident_id = $2";

#[cfg(test)]
#[test]
fn every_select_reads_the_columns_of_a_row() {
    for sql in [SELECT_CURRENT, SELECT_CURRENT_OF_HOUSEHOLD, SELECT_ONE] {
        assert!(sql.starts_with(&format!("SELECT {COLUMNS} FROM card_codes")), "{sql}");
    }
}

/// The functions behind `Store::card_codes`, `find_card_code`, `add_card_codes` and
/// `replace_card_codes` for one backend's database type `$db`: the same statements on
/// both (a macro, because sqlx's bind bounds per database make generic functions
/// unreadable). Each backend expands it into a module of its own and opens the
/// transactions its way (SQLite's writer with `BEGIN IMMEDIATE`).
macro_rules! card_code_sql {
    ($db:ty) => {
        use $crate::roster::HouseholdId;
        use $crate::store::StoreError;
        use $crate::store::cards::*;

        pub async fn current(
            readers: &sqlx::Pool<$db>,
            household: Option<HouseholdId>,
        ) -> Result<Vec<CardCode>, StoreError> {
            let rows: Vec<CardCodeRow> = match household {
                None => sqlx::query_as(SELECT_CURRENT).fetch_all(readers).await?,
                Some(h) => sqlx::query_as(SELECT_CURRENT_OF_HOUSEHOLD).bind(h).fetch_all(readers).await?,
            };
            rows.into_iter().map(CardCode::try_from).collect()
        }

        pub async fn find(readers: &sqlx::Pool<$db>, code: &str) -> Result<Option<CardCode>, StoreError> {
            let row: Option<CardCodeRow> = sqlx::query_as(SELECT_ONE).bind(code).fetch_optional(readers).await?;
            row.map(CardCode::try_from).transpose()
        }

        /// Adds codes for owners that have none in use; the others are left as they are.
        pub async fn add(tx: &mut sqlx::Transaction<'_, $db>, codes: &[CardCode]) -> Result<(), StoreError> {
            for c in codes {
                let (household, resident) = c.owner.columns();
                sqlx::query(INSERT_OR_SKIP)
                    .bind(&c.code)
                    .bind(household)
                    .bind(resident)
                    .bind(c.issued_at)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        /// Marks the codes in use of `replaced` as replaced at `at` and adds `new`; how
        /// many were replaced. A new code colliding with one in use (a reissue racing
        /// another) is [`StoreError::Conflict`].
        pub async fn replace(
            tx: &mut sqlx::Transaction<'_, $db>,
            replaced: &[Owner],
            new: &[CardCode],
            at: i64,
        ) -> Result<u64, StoreError> {
            let mut n = 0;
            for owner in replaced {
                let (sql, id) = match *owner {
                    Owner::Household(h) => (REPLACE_HOUSEHOLD, h),
                    Owner::Resident(p) => (REPLACE_RESIDENT, p),
                };
                n += sqlx::query(sql).bind(at).bind(id).execute(&mut **tx).await?.rows_affected();
            }
            for c in new {
                let (household, resident) = c.owner.columns();
                sqlx::query(INSERT)
                    .bind(&c.code)
                    .bind(household)
                    .bind(resident)
                    .bind(c.issued_at)
                    .execute(&mut **tx)
                    .await
                    .map_err($crate::store::duplicate_or)?;
            }
            Ok(n)
        }
    };
}
pub(crate) use card_code_sql;
