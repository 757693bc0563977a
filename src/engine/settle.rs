//! RTGS settlement: immediate settlement of released payments (step 3) and the Queue-2
//! retry pass (step 4, and the silent pass inside the LSM).

use super::Engine;
use super::config::Cents;
use super::event::{EventKind, TxId};

/// How a settlement credits the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credit {
    /// Follow the scenario's `deferred_crediting`.
    AsConfigured,
    /// Credit now, whatever the mode (SimCash's LSM-internal queue pass, Q-4).
    Immediate,
}

/// Which path settled a payment; split parents are only updated by RTGS and Queue 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    Rtgs,
    Lsm,
}

impl Engine {
    /// Moves a payment's full remaining amount from sender to receiver; returns the sender's
    /// balance after the debit.
    pub(crate) fn settle_tx(&mut self, id: TxId, credit: Credit, path: Path) -> Cents {
        let t = self.tick;
        let tx = &mut self.txs[id];
        let amount = tx.remaining;
        let (sender, receiver, parent) = (tx.sender, tx.receiver, tx.parent);
        tx.remaining = 0;
        tx.settled_tick = Some(t);
        tx.rtgs_priority = None;
        self.txs.finish(id);
        let s = &mut self.agents[sender as usize];
        s.balance -= amount;
        s.sent_settled_value += amount;
        let after = s.balance;
        if self.cfg.deferred_crediting && credit == Credit::AsConfigured {
            let d = &mut self.deferred[receiver as usize];
            d.0 += amount;
            d.1.push(id);
        } else {
            self.agents[receiver as usize].balance += amount;
        }
        self.stats.settled_value += amount;
        match parent {
            None => self.stats.settled += 1,
            Some(p) if path == Path::Rtgs => {
                self.agents[sender as usize].sent_settled_value += amount;
                let ptx = &mut self.txs[p];
                ptx.remaining -= amount;
                if ptx.remaining <= 0 && ptx.settled_tick.is_none() {
                    ptx.remaining = 0;
                    ptx.settled_tick = Some(t);
                    self.stats.settled += 1;
                }
            }
            Some(_) => {}
        }
        after
    }

    /// Step 3: each released payment settles if the sender can pay, else joins Queue 2.
    pub(crate) fn submit_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let t = self.tick;
        for &id in &pending {
            let tx = self.txs[id].clone();
            let sender = tx.sender;
            if self.agents[sender as usize].can_pay(tx.remaining) {
                if let Some(since) = tx.overdue_since {
                    let rates = &self.cfg.costs;
                    let om = rates.overdue_delay_multiplier;
                    let est = (tx.remaining as f64 * rates.delay_cost_per_tick_per_cent * om * (t - since) as f64).round() as Cents;
                    let kind = EventKind::OverdueTransactionSettled {
                        tx_id: id,
                        sender_id: sender,
                        receiver_id: tx.receiver,
                        amount: tx.amount,
                        settled_amount: tx.remaining,
                        deadline_tick: tx.deadline,
                        overdue_since_tick: since,
                        total_ticks_overdue: t - since,
                        deadline_penalty_cost: rates.deadline_penalty.resolve(tx.amount),
                        estimated_delay_cost: est,
                    };
                    self.emit(kind);
                }
                let (receiver, amount) = (tx.receiver, tx.remaining);
                let before = self.agents[sender as usize].balance;
                let after = self.settle_tx(id, Credit::AsConfigured, Path::Rtgs);
                self.counts.num_settlements += 1;
                self.emit(EventKind::RtgsImmediateSettlement {
                    tx_id: Some(id),
                    sender,
                    receiver,
                    amount,
                    sender_balance_before: before,
                    sender_balance_after: after,
                });
            } else {
                self.queue2.push(id);
                self.emit(EventKind::QueuedRtgs { tx_id: id, sender_id: sender });
            }
        }
        self.pending = pending;
        self.pending.clear();
    }

    /// One FIFO pass over Queue 2: marks newly overdue payments and settles what the senders
    /// can now pay. `silent` is the LSM-internal pass (immediate credit; an extension event
    /// instead of SimCash's none, Q-4). Returns the number and the value settled.
    pub(crate) fn queue2_pass_inner(&mut self, silent: bool) -> (u32, Cents) {
        let t = self.tick;
        let queue = std::mem::take(&mut self.queue2);
        let mut keep = Vec::with_capacity(queue.len());
        let mut settled = 0;
        let mut value = 0;
        for id in queue {
            let tx = &mut self.txs[id];
            if tx.is_settled() {
                continue;
            }
            if t > tx.deadline && tx.overdue_since.is_none() {
                tx.overdue_since = Some(t);
            }
            let (sender, receiver, amount, arrival) = (tx.sender, tx.receiver, tx.remaining, tx.arrival_tick);
            if !self.agents[sender as usize].can_pay(amount) {
                keep.push(id);
                continue;
            }
            settled += 1;
            value += amount;
            if silent {
                let after = self.settle_tx(id, Credit::Immediate, Path::Rtgs);
                self.emit(EventKind::LsmQueue2Settlement { tx_id: id, sender, receiver, amount, sender_balance_after: after });
            } else {
                self.settle_tx(id, Credit::AsConfigured, Path::Rtgs);
                self.emit(EventKind::Queue2LiquidityRelease { tx_id: id, sender, receiver, amount, queue_wait_ticks: t as i64 - arrival as i64 });
            }
        }
        self.queue2 = keep;
        (settled, value)
    }

    /// Step 4.
    pub(crate) fn queue2_pass(&mut self) {
        if self.cfg.extensions.priority_mode {
            let txs = &self.txs;
            self.queue2.sort_by_key(|id| {
                let tx = &txs[id];
                (tx.rtgs_priority, tx.rtgs_submission_tick)
            });
        }
        let (n, _) = self.queue2_pass_inner(false);
        self.counts.num_settlements += n;
    }
}
