//! Household cards (党群连心卡): the codes printed on them and the print document.
//!
//! Every household and every resident gets a [`Code`]: 80 random bits written in 16
//! characters of Crockford's base 32 (digits and capitals without I, L, O, U, so a code
//! read off a card is not misread). Never derived from an ID number or anything else
//! about the person: a card found in the street tells its finder nothing, and nobody can
//! make the code of a household they have not been handed the card of.
//!
//! Codes are issued lazily, when cards are rendered ([`codes_for`]): only a printed card
//! needs one, an import (a city's million rows) does no card work, and a household added
//! by a later import gets its codes the next time cards are printed. A lost card is
//! reissued ([`reissue`]): the old codes stay stored, marked replaced, so scanning the
//! old card answers "replaced" ([`Lookup::Replaced`]) rather than "unknown", and never
//! names the household it was for.
//!
//! - [`print`]: the self-contained A4 document of cards.
//!
//! This module makes codes and reads them; it stores through [`crate::store::Store`] and
//! knows nothing of HTTP.

pub mod print;

use crate::roster::{HouseholdId, ResidentId, Roster, StaffId};
use crate::store::cards::{CardCode, Owner};
use crate::store::{Store, StoreError};
use std::collections::{BTreeMap, HashMap};

/// Symbols of a code: Crockford's base 32.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code: 16 × 5 = 80 random bits.
pub const CODE_LEN: usize = 16;

/// A card code in its canonical form (16 capitals and digits). Built only by
/// [`Code::random`] or [`Code::parse`]. `Debug` shows its first four characters only:
/// a code is as good as the card, and logs are read by more people than cards are.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

/// Why a text is not a card code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedCode {
    #[error("a card code has {CODE_LEN} characters; this one has {0}")]
    Length(usize),
    #[error("a card code has only digits and capital letters other than I, L, O and U")]
    Characters,
}

impl Code {
    /// A new code from the operating system's random source.
    pub fn random() -> Code {
        let mut bytes = [0u8; 10];
        getrandom::fill(&mut bytes).expect("the operating system's random source works");
        let bits = bytes.iter().fold(0u128, |acc, b| acc << 8 | u128::from(*b));
        let text = (0..CODE_LEN).rev().map(|i| ALPHABET[(bits >> (5 * i) & 31) as usize] as char).collect();
        Code(text)
    }

    /// A code as a person or a scanner gives it: spaces and dashes ignored, lower case
    /// read as capitals, and (as Crockford's base 32 reads them) O as 0, I and L as 1.
    pub fn parse(raw: &str) -> Result<Code, MalformedCode> {
        let mut text = String::with_capacity(CODE_LEN);
        let mut count = 0;
        for c in raw.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            count += 1;
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return Err(MalformedCode::Characters);
            }
            if count <= CODE_LEN {
                text.push(c);
            }
        }
        if count != CODE_LEN {
            return Err(MalformedCode::Length(count));
        }
        Ok(Code(text))
    }

    /// The canonical text: what the QR code holds and the database stores.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `ABCD-EFGH-JKMN-PQRS`: as printed under a QR code, for reading aloud or typing.
    pub fn grouped(&self) -> String {
        let parts: Vec<&str> = (0..CODE_LEN / 4).map(|i| &self.0[4 * i..4 * i + 4]).collect();
        parts.join("-")
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Code({}…)", &self.0[..4])
    }
}

/// The codes in use of a set of households and their residents.
#[derive(Debug, Default, Clone)]
pub struct CodeBook {
    pub households: HashMap<HouseholdId, Code>,
    pub residents: HashMap<ResidentId, Code>,
}

impl CodeBook {
    fn from_rows(rows: Vec<CardCode>) -> Result<Self, StoreError> {
        let mut book = CodeBook::default();
        for row in rows {
            let code = Code::parse(&row.code).map_err(|e| StoreError::Corrupt(format!("a card code: {e}")))?;
            match row.owner {
                Owner::Household(h) => book.households.insert(h, code),
                Owner::Resident(r) => book.residents.insert(r, code),
            };
        }
        Ok(book)
    }

    fn has(&self, owner: Owner) -> bool {
        match owner {
            Owner::Household(h) => self.households.contains_key(&h),
            Owner::Resident(r) => self.residents.contains_key(&r),
        }
    }
}

/// The residents on the roster (not removed), by household, in roster order.
pub fn residents_by_household(roster: &Roster) -> BTreeMap<HouseholdId, Vec<usize>> {
    let mut by: BTreeMap<HouseholdId, Vec<usize>> = BTreeMap::new();
    for (i, r) in roster.residents().iter().enumerate() {
        if !roster.is_removed(r.id) {
            by.entry(r.household_id).or_default().push(i);
        }
    }
    by
}

/// The staff member whose name and phone go on a household's card: the nearest
/// responsible person up the tree from its grid (its grid member, else the grid head …),
/// as the fold assigns residents.
pub fn responsible_for(roster: &Roster, household: HouseholdId) -> Option<StaffId> {
    let node = roster.node_idx(roster.household(household)?.node_id)?;
    roster.ancestors(node).iter().rev().find_map(|&a| roster.nodes()[a].staff_id)
}

/// How many times issuing is tried again when a new code was not stored: another
/// printing gave the owner one at the same moment (then it is read back), or, with odds
/// of one in 2⁸⁰ a code, a code already stored was drawn.
const ISSUE_TRIES: usize = 3;

/// The codes of `households` and their residents, issuing the missing ones. `one` is
/// `Some` when `households` is one household's (its codes are read alone, not the
/// whole roster's).
pub async fn codes_for(
    store: &dyn Store,
    roster: &Roster,
    households: &[HouseholdId],
    now: time::OffsetDateTime,
) -> Result<CodeBook, StoreError> {
    let by_household = residents_by_household(roster);
    let owners: Vec<Owner> = households
        .iter()
        .flat_map(|h| {
            let residents = by_household.get(h).into_iter().flatten();
            std::iter::once(Owner::Household(*h)).chain(residents.map(|&i| Owner::Resident(roster.residents()[i].id)))
        })
        .collect();
    let only = match households {
        [one] => Some(*one),
        _ => None,
    };
    let mut book = CodeBook::from_rows(store.card_codes(only).await?)?;
    for _ in 0..ISSUE_TRIES {
        let issued_at = crate::store::to_micros(now);
        let missing: Vec<CardCode> = owners
            .iter()
            .filter(|o| !book.has(**o))
            .map(|&owner| CardCode { code: Code::random().0, owner, issued_at, replaced_at: None })
            .collect();
        if missing.is_empty() {
            return Ok(book);
        }
        tracing::info!(codes = missing.len(), "issuing card codes");
        store.add_card_codes(&missing).await?;
        book = CodeBook::from_rows(store.card_codes(only).await?)?;
    }
    Err(StoreError::Corrupt("card codes could not be issued".into()))
}

/// What a code on a card says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// In use: the household's code (`resident: None`) or one resident's, with the
    /// household they live in now.
    Found { household: HouseholdId, resident: Option<ResidentId> },
    /// The card it was on was reissued.
    Replaced,
    /// Not a code of this roster (never issued, or its household or resident is gone).
    Unknown,
}

/// What `code` answers to.
pub async fn look_up(store: &dyn Store, roster: &Roster, code: &Code) -> Result<Lookup, StoreError> {
    let Some(row) = store.find_card_code(code.as_str()).await? else { return Ok(Lookup::Unknown) };
    if row.replaced_at.is_some() {
        return Ok(Lookup::Replaced);
    }
    Ok(match row.owner {
        Owner::Household(h) if roster.household(h).is_some() => Lookup::Found { household: h, resident: None },
        Owner::Resident(r) => match roster.resident_idx(r) {
            Some(i) if !roster.is_removed(r) => {
                Lookup::Found { household: roster.residents()[i].household_id, resident: Some(r) }
            }
            _ => Lookup::Unknown,
        },
        Owner::Household(_) => Lookup::Unknown,
    })
}

/// What a reissue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reissued {
    /// Codes that now answer "replaced".
    pub replaced: u64,
    /// New codes issued.
    pub issued: usize,
}

/// A new card for a household (its code and all its residents'), or a new code for one
/// of its residents; the old codes answer [`Lookup::Replaced`] from now on. The caller
/// has checked that the household exists and the resident lives in it.
pub async fn reissue(
    store: &dyn Store,
    roster: &Roster,
    household: HouseholdId,
    resident: Option<ResidentId>,
    now: time::OffsetDateTime,
) -> Result<Reissued, StoreError> {
    let owners: Vec<Owner> = match resident {
        Some(r) => vec![Owner::Resident(r)],
        None => {
            let residents = residents_by_household(roster).remove(&household).unwrap_or_default();
            std::iter::once(Owner::Household(household))
                .chain(residents.into_iter().map(|i| Owner::Resident(roster.residents()[i].id)))
                .collect()
        }
    };
    let at = crate::store::to_micros(now);
    let mut tries = 0;
    loop {
        let new: Vec<CardCode> = owners
            .iter()
            .map(|&owner| CardCode { code: Code::random().0, owner, issued_at: at, replaced_at: None })
            .collect();
        match store.replace_card_codes(&owners, &new, at).await {
            // Another reissue of the same card committed between our two statements: do
            // it again over theirs.
            Err(StoreError::Conflict) if tries + 1 < ISSUE_TRIES => tries += 1,
            Err(e) => return Err(e),
            Ok(replaced) => return Ok(Reissued { replaced, issued: new.len() }),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_catalogue_says_the_length_a_code_has() {
        assert_eq!(crate::messages::api::CARD_CODE_LEN, CODE_LEN);
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn random_codes_are_sixteen_symbols_of_the_alphabet_and_differ() {
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| Code::random().0).collect();
        assert_eq!(codes.len(), 1000);
        for c in &codes {
            assert_eq!(c.len(), CODE_LEN);
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)), "{c}");
            assert_eq!(Code::parse(c).unwrap().0, *c);
        }
    }

    #[test]
    fn a_code_is_read_as_a_person_types_it() {
        let code = Code::parse("ABCD-EFGH-JKMN-PQRS").unwrap();
        assert_eq!(code.as_str(), "ABCDEFGHJKMNPQRS");
        assert_eq!(code.grouped(), "ABCD-EFGH-JKMN-PQRS");
        assert_eq!(Code::parse(" abcd efgh jkmn pqrs ").unwrap(), code);
        assert_eq!(Code::parse("O0IL-0000-0000-0000").unwrap().as_str(), "0011000000000000");
        assert_eq!(format!("{code:?}"), "Code(ABCD…)");
    }

    #[test]
    fn wrong_lengths_and_letters_are_malformed() {
        assert_eq!(Code::parse(""), Err(MalformedCode::Length(0)));
        assert_eq!(Code::parse("ABCD-EFGH"), Err(MalformedCode::Length(8)));
        assert_eq!(Code::parse("ABCDEFGHJKMNPQRST"), Err(MalformedCode::Length(17)));
        assert_eq!(Code::parse("ABCDEFGHJKMNPQRU"), Err(MalformedCode::Characters));
        assert_eq!(Code::parse("110101199003074258"), Err(MalformedCode::Length(18)));
        assert_eq!(Code::parse("户卡户卡户卡户卡户卡户卡户卡户卡"), Err(MalformedCode::Characters));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_malformed_without_panicking(raw in "\\PC{0,40}") {
            if let Ok(code) = Code::parse(&raw) {
                prop_assert_eq!(code.as_str().len(), CODE_LEN);
            }
        }
    }
}
