//! The delivery queue's partitions, and sets of them: which partition a message lives
//! in, and where a claim looks. Where each partition's keys are is
//! [`super::keys`]' business.

use crate::domain::ids::MessageId;

/// How many partitions the delivery queue is split into. Each partition is one hash tag,
/// so on Redis Cluster the queue spreads over as many slots (and the masters serving
/// them); on a single Redis it changes nothing but the key names.
pub const PARTITIONS: usize = 16;

/// One partition of the delivery queue: its schedule and its messages share one hash
/// tag, so every script and transaction on a message stays in one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition(usize);

impl Partition {
    /// The partition a message lives in: its id's [bucket](MessageId::bucket). The
    /// messages of one event are given ids in the same bucket
    /// ([`MessageId::generate_beside`]), so they are queued together, atomically.
    pub fn of(id: &MessageId) -> Partition {
        Partition(id.bucket(PARTITIONS))
    }

    /// The partition at `index`, counted round the ring (so any number names one).
    pub fn wrapping(index: usize) -> Partition {
        Partition(index % PARTITIONS)
    }

    /// Every partition, in order.
    pub fn all() -> impl Iterator<Item = Partition> {
        (0..PARTITIONS).map(Partition)
    }

    /// Its position, `0..PARTITIONS`.
    pub fn index(self) -> usize {
        self.0
    }
}

/// A set of the queue's partitions: where a claim looks. A wake-up carries the
/// partitions its messages were queued in, so that the claim it prompts reads only
/// those, not every partition's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Partitions(u32);

// One bit per partition.
const _: () = assert!(PARTITIONS <= 32);

impl Partitions {
    /// No partition.
    pub const NONE: Partitions = Partitions(0);
    /// Every partition.
    pub const ALL: Partitions = Partitions(u32::MAX >> (32 - PARTITIONS));

    /// The partitions `ids` live in.
    pub fn of<'a>(ids: impl IntoIterator<Item = &'a MessageId>) -> Partitions {
        ids.into_iter()
            .fold(Partitions::NONE, |set, id| set.with(Partition::of(id)))
    }

    /// This set and `partition`.
    pub fn with(self, partition: Partition) -> Partitions {
        Partitions(self.0 | 1 << partition.0)
    }

    /// Both sets together.
    pub fn union(self, other: Partitions) -> Partitions {
        Partitions(self.0 | other.0)
    }

    /// Whether `partition` is in the set.
    pub fn contains(self, partition: Partition) -> bool {
        self.0 & (1 << partition.0) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as bits (partition `i` is bit `i`), for an atomic or a message.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The set of these bits; bits past the last partition are ignored.
    pub fn from_bits(bits: u32) -> Partitions {
        Partitions(bits & Partitions::ALL.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_set_of_partitions_holds_where_its_messages_live() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let ids: Vec<MessageId> = (0..3).map(|_| MessageId::generate(&mut rng)).collect();
        let set = Partitions::of(&ids);
        for id in &ids {
            assert!(set.contains(Partition::of(id)));
        }
        let outside = Partition::all().filter(|p| !set.contains(*p)).count();
        assert!(outside >= PARTITIONS - 3, "only the messages' partitions");
        assert!(Partitions::of([]).is_empty());
        assert_eq!(Partitions::ALL.bits().count_ones() as usize, PARTITIONS);
        assert!(Partition::all().all(|p| Partitions::ALL.contains(p)));
        assert_eq!(set.union(Partitions::ALL), Partitions::ALL);
        assert_eq!(Partitions::from_bits(set.bits()), set);
        assert_eq!(Partitions::from_bits(u32::MAX), Partitions::ALL);
    }
}
