//! Which client ids the log may already hold, kept in memory by the writer so that a
//! batch of new events needs no look-up in the database before it is appended.
//!
//! A Bloom filter answers "certainly not recorded" or "perhaps": only the "perhaps" ids
//! (real repeats, and about one new id in a hundred) are looked up. It is filled at
//! start-up by the rebuild, which reads every event of the log anyway (`Hub::rebuild`),
//! and then by the writer with every id it appends.
//!
//! It is never the last word: the database's unique index on the client id is. An id the
//! filter does not know (recorded by another node since the rebuild, say) makes the append
//! fail with a conflict, and the writer then looks every id of the batch up and retries.

use uuid::Uuid;

/// Ids per filter before the next, twice as large, is started.
const FIRST_CAPACITY: usize = 1 << 16;
/// Bits per id and probes per id: about one false "perhaps" in a hundred.
const BITS_PER_ID: usize = 10;
const PROBES: u64 = 7;

/// A scalable Bloom filter: a list of filters of growing size, each filled up to its
/// capacity, so memory follows the size of the log (≈ 1.5 bytes per event).
pub struct SeenIds {
    filters: Vec<Filter>,
    /// Whether every id in the log at start-up has been added.
    complete: bool,
}

struct Filter {
    bits: Vec<u64>,
    /// Number of bits − 1 (a power of two − 1).
    mask: u64,
    len: usize,
    capacity: usize,
}

impl Filter {
    fn new(capacity: usize) -> Self {
        let bits = (capacity * BITS_PER_ID).next_power_of_two();
        Self { bits: vec![0; bits / 64], mask: bits as u64 - 1, len: 0, capacity }
    }

    fn probes(&self, id: &Uuid) -> impl Iterator<Item = (usize, u64)> + use<> {
        let (a, b) = id.as_u64_pair();
        // UUID v7 ids share their leading (time) bits: mix both halves before use.
        let h1 = mix(a ^ mix(b));
        let h2 = mix(b ^ a.rotate_left(32)) | 1;
        let mask = self.mask;
        (0..PROBES).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) & mask;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    fn insert(&mut self, id: &Uuid) {
        for (word, bit) in self.probes(id) {
            self.bits[word] |= bit;
        }
        self.len += 1;
    }

    fn may_contain(&self, id: &Uuid) -> bool {
        self.probes(id).all(|(word, bit)| self.bits[word] & bit != 0)
    }
}

/// splitmix64's finaliser: spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Default for SeenIds {
    fn default() -> Self {
        Self { filters: vec![Filter::new(FIRST_CAPACITY)], complete: false }
    }
}

impl SeenIds {
    pub fn insert(&mut self, id: &Uuid) {
        let last = self.filters.last().expect("there is always one filter");
        if last.len >= last.capacity {
            let next = Filter::new(last.capacity * 2);
            self.filters.push(next);
        }
        self.filters.last_mut().expect("just checked").insert(id);
    }

    /// Every id the log held when the writer started has been added.
    pub fn mark_complete(&mut self) {
        self.complete = true;
    }

    /// Whether `id` must be looked up in the log: `false` only if it is certainly not there.
    pub fn needs_look_up(&self, id: &Uuid) -> bool {
        !self.complete || self.filters.iter().any(|f| f.may_contain(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_added_id_needs_a_look_up_and_few_others_do() {
        let mut seen = SeenIds::default();
        let added: Vec<Uuid> = (0..300_000).map(|_| Uuid::now_v7()).collect();
        added.iter().for_each(|id| seen.insert(id));
        assert!(added.iter().all(|id| seen.needs_look_up(id)), "before the scan is done, everything is looked up");
        seen.mark_complete();
        assert!(added.iter().all(|id| seen.needs_look_up(id)));
        let others = 100_000;
        let false_hits = (0..others).filter(|_| seen.needs_look_up(&Uuid::now_v7())).count();
        let random_hits = (0..others).filter(|_| seen.needs_look_up(&Uuid::new_v4())).count();
        // About 1 % per filter, and 300,000 ids fill three of them.
        assert!(false_hits < others / 20, "{false_hits} of {others} time-ordered ids looked up");
        assert!(random_hits < others / 20, "{random_hits} of {others} random ids looked up");
    }
}
