//! The records of a run's event log.

use crate::kernel::log::Record;
use crate::model::kube::cluster::{NodeId, PodId, RsId};
use crate::model::kube::lifecycle::ZoneState;

/// One state change of the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRecord {
    /// A timeline action started (its index in the timeline).
    Action(u32),
    /// A ReplicaSet's desired replicas were set.
    Scaled(RsId, u32),
    /// A pod was created.
    PodCreated(PodId),
    /// A pod was bound to a node and took an IP.
    PodBound(PodId, NodeId, u32),
    /// A pod was found unschedulable (logged when its message changes).
    PodUnschedulable(PodId),
    /// A pod became Ready.
    PodReady(PodId),
    /// A pod's Ready condition went False because its node is not ready.
    PodNotReady(PodId),
    /// A pod was evicted by the taint manager.
    PodEvicted(PodId),
    /// A pod was removed (scale-down, or a terminating pod finishing).
    PodDeleted(PodId),
    /// A node stopped heartbeating (failure injected).
    NodeDown(NodeId),
    /// A node resumed heartbeating.
    NodeUp(NodeId),
    /// The node controller set Ready=Unknown.
    NodeNotReady(NodeId),
    /// The node controller set Ready=True again.
    NodeReady(NodeId),
    /// The NoExecute unreachable taint was added.
    NodeTainted(NodeId),
    /// The NoExecute taint was removed (all zones disrupted, or recovery).
    NodeUntainted(NodeId),
    /// A zone changed disruption state.
    ZoneState(u32, ZoneState),
    /// IP addresses taken from or returned to a subnet by a timeline action.
    ExternalIps(u32, i64),
    /// An ExternalSecret was reconciled: its index, success, and the target
    /// Secret's resourceVersion after it (0: none).
    SecretReconciled(u32, bool, u64),
    /// A pod could not start for want of a Secret (CreateContainerConfigError / FailedMount).
    PodWaitingForSecret(PodId),
    /// A DB system's read/write endpoint went down (false) or answered again (true).
    DbPrimary(u32, bool),
    /// The Eviction API accepted an eviction of the pod (a drain).
    PodEvictedByApi(PodId),
    /// The Eviction API refused to evict the pod (429) for the budget with this index.
    EvictionRefused(PodId, u32),
    /// A node was cordoned (true) or uncordoned (false).
    NodeCordoned(NodeId, bool),
}

impl Record for LogRecord {
    fn stable_bytes(&self, out: &mut Vec<u8>) {
        let (tag, a, b, c): (u8, u64, u64, u64) = match self {
            LogRecord::Action(i) => (1, u64::from(*i), 0, 0),
            LogRecord::Scaled(rs, n) => (2, u64::from(rs.0), u64::from(*n), 0),
            LogRecord::PodCreated(p) => (3, u64::from(p.0), 0, 0),
            LogRecord::PodBound(p, n, ip) => (4, u64::from(p.0), u64::from(n.0), u64::from(*ip)),
            LogRecord::PodUnschedulable(p) => (5, u64::from(p.0), 0, 0),
            LogRecord::PodReady(p) => (6, u64::from(p.0), 0, 0),
            LogRecord::PodNotReady(p) => (7, u64::from(p.0), 0, 0),
            LogRecord::PodEvicted(p) => (8, u64::from(p.0), 0, 0),
            LogRecord::PodDeleted(p) => (9, u64::from(p.0), 0, 0),
            LogRecord::NodeDown(n) => (10, u64::from(n.0), 0, 0),
            LogRecord::NodeUp(n) => (11, u64::from(n.0), 0, 0),
            LogRecord::NodeNotReady(n) => (12, u64::from(n.0), 0, 0),
            LogRecord::NodeReady(n) => (13, u64::from(n.0), 0, 0),
            LogRecord::NodeTainted(n) => (14, u64::from(n.0), 0, 0),
            LogRecord::NodeUntainted(n) => (15, u64::from(n.0), 0, 0),
            LogRecord::ZoneState(z, s) => (16, u64::from(*z), *s as u64, 0),
            LogRecord::ExternalIps(s, n) => (17, u64::from(*s), *n as u64, 0),
            LogRecord::SecretReconciled(i, ok, v) => (18, u64::from(*i), u64::from(*ok), *v),
            LogRecord::PodWaitingForSecret(p) => (19, u64::from(p.0), 0, 0),
            LogRecord::DbPrimary(d, up) => (20, u64::from(*d), u64::from(*up), 0),
            LogRecord::PodEvictedByApi(p) => (21, u64::from(p.0), 0, 0),
            LogRecord::EvictionRefused(p, b) => (22, u64::from(p.0), u64::from(*b), 0),
            LogRecord::NodeCordoned(n, c) => (23, u64::from(n.0), u64::from(*c), 0),
        };
        out.push(tag);
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
        out.extend_from_slice(&c.to_le_bytes());
    }
}
