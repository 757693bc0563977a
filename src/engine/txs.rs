//! The run's payments by id. Payments live in blocks of consecutive ids, and a block is freed
//! at the end of a tick once every payment in it is finished (settled, dropped or split, and
//! the parts of its split payments finished too), so a long run holds the payments it can
//! still touch, not every payment it ever made.

use std::borrow::Borrow;
use std::ops::{Index, IndexMut};

use super::event::TxId;
use super::model::Transaction;

/// Payments per block (a power of two).
const BLOCK: usize = 4096;

/// The run's payments, indexed by [`TxId`].
#[derive(Debug, Default)]
pub struct Transactions {
    /// Blocks in id order; a freed block is empty.
    blocks: Vec<Vec<Transaction>>,
    /// Per block: its payments not yet finished, plus the unfinished split parts of its
    /// payments (a part settling updates its parent).
    open: Vec<u32>,
    /// Payments created.
    len: usize,
    /// Blocks whose payments all finished, not yet freed (the last may still be filling).
    done: Vec<usize>,
}

fn block(id: TxId) -> usize {
    id.0 as usize / BLOCK
}

impl Transactions {
    /// Payments created so far (freed ones included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no payment was created.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The id the next payment gets.
    pub fn next_id(&self) -> TxId {
        TxId(self.len as u32)
    }

    /// Adds a payment; its id must be [`Self::next_id`].
    pub fn push(&mut self, tx: Transaction) {
        debug_assert_eq!(tx.id, self.next_id(), "payments are added in id order");
        if self.len.is_multiple_of(BLOCK) {
            self.blocks.push(Vec::with_capacity(BLOCK));
            self.open.push(0);
        }
        if let Some(parent) = tx.parent {
            self.open[block(parent)] += 1;
        }
        *self.open.last_mut().expect("a block was pushed") += 1;
        self.blocks.last_mut().expect("a block was pushed").push(tx);
        self.len += 1;
    }

    /// The payment `id`, unless its block was freed.
    pub fn get(&self, id: TxId) -> Option<&Transaction> {
        self.blocks.get(block(id))?.get(id.0 as usize % BLOCK)
    }

    /// The payments still held, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Transaction> {
        self.blocks.iter().flatten()
    }

    /// Records that `id` is finished: nothing reads it again except, as a split parent, its
    /// parts as they settle. Called once per payment.
    pub fn finish(&mut self, id: TxId) {
        let parent = self[id].parent;
        for b in std::iter::once(block(id)).chain(parent.map(block)) {
            self.open[b] = self.open[b].checked_sub(1).expect("a payment is finished once");
            if self.open[b] == 0 && self.done.last() != Some(&b) {
                self.done.push(b);
            }
        }
    }

    /// Frees every full block whose payments are all finished (at the end of a tick, when
    /// no id of a finished payment is held anywhere).
    pub fn free_finished(&mut self) {
        let full = self.len / BLOCK;
        let (blocks, open) = (&mut self.blocks, &self.open);
        // A block still filling stays listed; one reopened since (a new part of one of its
        // payments) is listed again when it closes.
        self.done.retain(|&b| {
            if b >= full {
                return true;
            }
            if open[b] == 0 {
                blocks[b] = Vec::new();
            }
            false
        });
    }
}

impl<I: Borrow<TxId>> Index<I> for Transactions {
    type Output = Transaction;

    fn index(&self, id: I) -> &Transaction {
        let id = *id.borrow();
        &self.blocks[block(id)][id.0 as usize % BLOCK]
    }
}

impl<I: Borrow<TxId>> IndexMut<I> for Transactions {
    fn index_mut(&mut self, id: I) -> &mut Transaction {
        let id = *id.borrow();
        &mut self.blocks[block(id)][id.0 as usize % BLOCK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(id: usize, parent: Option<usize>) -> Transaction {
        Transaction { parent: parent.map(|p| TxId(p as u32)), ..Transaction::new(TxId(id as u32), 0, 1, 100, 0, 5, 5) }
    }

    fn filled(n: usize) -> Transactions {
        let mut t = Transactions::default();
        for i in 0..n {
            t.push(payment(i, None));
        }
        t
    }

    #[test]
    fn a_block_is_freed_only_when_full_and_every_payment_in_it_finished() {
        let mut t = filled(BLOCK + 1);
        for i in 0..BLOCK - 1 {
            t.finish(TxId(i as u32));
        }
        t.free_finished();
        assert!(t.get(TxId(0)).is_some(), "one payment of the block is open");
        t.finish(TxId(BLOCK as u32 - 1));
        t.free_finished();
        assert!(t.get(TxId(0)).is_none() && t.get(TxId(BLOCK as u32 - 1)).is_none());
        assert_eq!(t[TxId(BLOCK as u32)].id, TxId(BLOCK as u32), "the next block stays");
        assert_eq!((t.len(), t.iter().count()), (BLOCK + 1, 1));

        // The last block is not full: finished payments in it stay.
        t.finish(TxId(BLOCK as u32));
        t.free_finished();
        assert!(t.get(TxId(BLOCK as u32)).is_some());
    }

    #[test]
    fn a_split_parent_is_kept_while_any_of_its_parts_is_open() {
        let mut t = filled(BLOCK);
        // Payment 7 is split into two parts in the next block.
        t.push(payment(BLOCK, Some(7)));
        t.push(payment(BLOCK + 1, Some(7)));
        for i in 0..BLOCK {
            t.finish(TxId(i as u32));
        }
        t.finish(TxId(BLOCK as u32));
        t.free_finished();
        assert!(t.get(TxId(7)).is_some(), "a part of payment 7 is still open");
        t.finish(TxId(BLOCK as u32 + 1));
        t.free_finished();
        assert!(t.get(TxId(7)).is_none());
    }

    #[test]
    #[should_panic(expected = "a payment is finished once")]
    fn finishing_twice_is_a_bug() {
        let mut t = filled(1);
        t.finish(TxId(0));
        t.finish(TxId(0));
    }
}
