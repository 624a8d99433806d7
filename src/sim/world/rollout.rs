//! The deployment controller in the world: rollouts of a new pod template,
//! scaling a Deployment (scale actions and the HPA) across its ReplicaSets,
//! and the history of each rollout for the report.
//!
//! The arithmetic is `model::kube::deployment`; this module builds its view
//! of the ReplicaSets from the cluster, applies the new sizes through the
//! ReplicaSet controller, and asks for another sync whenever a pod of a
//! Deployment in a rollout changes, as the controller's informers would.

use std::collections::BTreeSet;

use super::{Ev, World};
use crate::kernel::SimTime;
use crate::model::kube::cluster::{LABEL_POD_TEMPLATE_HASH, ReplicaSet, RsId};
use crate::model::kube::deployment::{self, DeploymentView, RsView, Strategy, SyncKind};

/// One rollout: when it started, each step's ReplicaSet sizes, and when it
/// completed.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutRecord {
    /// The image rolled out.
    pub image: String,
    /// The new ReplicaSet's name.
    pub new_rs: String,
    /// When the template changed.
    pub started: SimTime,
    /// When every replica was updated and available and no old pod was left.
    pub completed: Option<SimTime>,
    /// After each sync that changed something: `spec.replicas` of every
    /// ReplicaSet of the Deployment (oldest first) and Ready pods in total.
    pub steps: Vec<(SimTime, Vec<u32>, u32)>,
}

/// The deployment controller's memory of one Deployment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RolloutState {
    /// Per ReplicaSet (as `Deployment::rss`): the desired-replicas and
    /// max-replicas annotations.
    annotations: Vec<(Option<i32>, Option<i32>)>,
    /// A sync is already scheduled.
    sync_requested: bool,
    /// The rollouts so far, oldest first.
    pub history: Vec<RolloutRecord>,
}

impl RolloutState {
    /// The state of a freshly applied Deployment: its one ReplicaSet carries
    /// the annotations for `replicas`.
    pub fn new(replicas: u32, strategy: &Strategy) -> Self {
        let d = DeploymentView {
            replicas: replicas as i32,
            strategy: *strategy,
        };
        RolloutState {
            annotations: vec![(Some(d.replicas), Some(d.replicas + d.max_surge()))],
            sync_requested: false,
            history: Vec::new(),
        }
    }

    /// True while the last rollout has not completed.
    pub fn in_progress(&self) -> bool {
        self.history.last().is_some_and(|r| r.completed.is_none())
    }
}

/// A stable stand-in for the new pod-template-hash: FNV-1a of the old hash
/// and the image, in the alphabet of `SafeEncodeString`.
fn next_template_hash(old: &str, image: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let v = crate::kernel::rng::fnv1a64(format!("{old}/{image}").as_bytes()) as u32;
    v.to_string()
        .bytes()
        .map(|c| ALPHANUMS[usize::from(c) % ALPHANUMS.len()] as char)
        .collect()
}

impl World {
    /// Changes Deployment `d`'s template to `image`: a new ReplicaSet with
    /// its first surge of pods, then the controller's steps.
    pub(super) fn start_rollout(&mut self, d: usize, image: String) {
        let dep = &self.deployments[d];
        let current = self.kube.rs(dep.rs);
        let old_hash = current
            .template
            .labels
            .get(LABEL_POD_TEMPLATE_HASH)
            .cloned()
            .unwrap_or_default();
        let hash = next_template_hash(&old_hash, &image);
        let mut template = current.template.clone();
        template
            .labels
            .insert(LABEL_POD_TEMPLATE_HASH.into(), hash.clone());
        let view = self.deployment_view(d);
        let old: Vec<RsView> = self.rs_views(d);
        // Recreate creates the new ReplicaSet only once the old pods are
        // gone (at 0 here, grown by the sync that finds them gone).
        let created = match view.strategy {
            Strategy::Recreate => RsView {
                replicas: 0,
                ..deployment::create_new_rs(&view, &old)
            },
            Strategy::RollingUpdate { .. } => deployment::create_new_rs(&view, &old),
        };
        let rs = ReplicaSet {
            name: format!("{}-{hash}", dep.name),
            deployment: dep.name.clone(),
            namespace: dep.namespace.clone(),
            replicas: 0,
            selector: current.selector.clone(),
            template,
            hard_spread: Vec::new(),
            soft_spread: Vec::new(),
            soft_spread_is_system_default: false,
            matches: Vec::new(),
            active: BTreeSet::new(),
            pending: 0,
        };
        let name = rs.name.clone();
        let id = self.add_replica_set(rs);
        let now = self.now();
        let dep = &mut self.deployments[d];
        dep.rs = id;
        dep.rss.push(id);
        dep.rollout
            .annotations
            .push((created.desired_annotation, created.max_annotation));
        dep.rollout.history.push(RolloutRecord {
            image,
            new_rs: name,
            started: now,
            completed: None,
            steps: Vec::new(),
        });
        self.apply_sizes(d, &[(id, created.replicas)]);
        self.record_step(d);
        self.sync_deployment(d);
    }

    /// Sets Deployment `d`'s `spec.replicas` (a scale action or the HPA) and
    /// lets the controller spread it over the ReplicaSets.
    pub(super) fn scale_deployment(&mut self, d: usize, replicas: u32) {
        self.deployments[d].replicas = replicas;
        self.sync_deployment(d);
    }

    /// One `syncDeployment`.
    pub(super) fn sync_deployment(&mut self, d: usize) {
        self.deployments[d].rollout.sync_requested = false;
        let view = self.deployment_view(d);
        let mut rss = self.rs_views(d);
        let new = rss.len() - 1;
        let kind = deployment::sync(&view, &mut rss, new);
        let dep = &mut self.deployments[d];
        for (slot, rs) in dep.rollout.annotations.iter_mut().zip(&rss) {
            *slot = (rs.desired_annotation, rs.max_annotation);
        }
        let sizes: Vec<(RsId, i32)> = dep
            .rss
            .iter()
            .copied()
            .zip(rss.iter().map(|r| r.replicas))
            .collect();
        if kind != SyncKind::Idle {
            self.apply_sizes(d, &sizes);
        }
        if self.deployments[d].rollout.in_progress() {
            if kind != SyncKind::Idle {
                self.record_step(d);
            }
            let rss = self.rs_views(d);
            if deployment::complete(&view, &rss, rss.len() - 1) {
                let now = self.now();
                let record = self.deployments[d]
                    .rollout
                    .history
                    .last_mut()
                    .expect("in progress");
                record.completed = Some(now);
            }
        }
    }

    /// Scales each ReplicaSet whose size changed.
    fn apply_sizes(&mut self, _d: usize, sizes: &[(RsId, i32)]) {
        for &(rs, n) in sizes {
            let n = n.max(0) as u32;
            if self.kube.rs(rs).replicas != n {
                self.set_replicas(rs, n);
            }
        }
    }

    fn record_step(&mut self, d: usize) {
        let now = self.now();
        let dep = &self.deployments[d];
        let sizes: Vec<u32> = dep.rss.iter().map(|r| self.kube.rs(*r).replicas).collect();
        let ready: u32 = dep.rss.iter().map(|r| self.ready_by_rs[r.0 as usize]).sum();
        let record = self.deployments[d]
            .rollout
            .history
            .last_mut()
            .expect("a rollout is recorded");
        if record
            .steps
            .last()
            .is_some_and(|(_, s, r)| *s == sizes && *r == ready)
        {
            return;
        }
        record.steps.push((now, sizes, ready));
    }

    /// Asks for a sync of the Deployment owning `rs` at the end of this
    /// instant, if it is in a rollout (its pods drive the next step).
    pub(super) fn pods_changed_in_rollout(&mut self, rs: RsId) {
        let Some(&d) = self.deployment_by_name.get(&self.kube.rs(rs).deployment) else {
            return;
        };
        let state = &mut self.deployments[d].rollout;
        if !state.in_progress() || state.sync_requested {
            return;
        }
        state.sync_requested = true;
        let now = self.now();
        self.queue.schedule(now, Ev::DeploymentSync(d as u32));
    }

    /// A pod of `rs` just turned Ready: with `minReadySeconds`, it becomes
    /// available only that much later, so the controller looks again then
    /// (the ReplicaSet controller requeues after minReadySeconds).
    pub(super) fn sync_when_available(&mut self, rs: RsId) {
        let Some(&d) = self.deployment_by_name.get(&self.kube.rs(rs).deployment) else {
            return;
        };
        let dep = &self.deployments[d];
        if dep.min_ready.as_ms() == 0 || !dep.rollout.in_progress() {
            return;
        }
        let at = self.now() + dep.min_ready;
        self.queue.schedule(at, Ev::DeploymentSync(d as u32));
    }

    /// Pods of `rs` available now: Ready for at least the Deployment's
    /// `minReadySeconds` (`IsPodAvailable`); with 0, every Ready pod.
    fn available_of_rs(&self, rs: RsId, min_ready: crate::kernel::SimDuration) -> u32 {
        if min_ready.as_ms() == 0 {
            return self.ready_by_rs[rs.0 as usize];
        }
        let now = self.now();
        self.kube
            .rs(rs)
            .active
            .iter()
            .filter(|p| {
                let pod = self.kube.pod(**p);
                pod.ready && pod.ready_since.is_some_and(|t| t + min_ready <= now)
            })
            .count() as u32
    }

    /// `status.availableReplicas` of Deployment `d`: available pods over all
    /// its ReplicaSets.
    pub fn available_of(&self, d: &super::Deployment) -> u32 {
        d.rss
            .iter()
            .map(|r| self.available_of_rs(*r, d.min_ready))
            .sum()
    }

    fn deployment_view(&self, d: usize) -> DeploymentView {
        let dep = &self.deployments[d];
        DeploymentView {
            replicas: dep.replicas as i32,
            strategy: dep.strategy,
        }
    }

    /// The controller's view of Deployment `d`'s ReplicaSets, oldest first.
    fn rs_views(&self, d: usize) -> Vec<RsView> {
        let dep = &self.deployments[d];
        dep.rss
            .iter()
            .zip(&dep.rollout.annotations)
            .map(|(rs, (desired, max))| {
                let r = self.kube.rs(*rs);
                RsView {
                    replicas: r.replicas as i32,
                    available: self.available_of_rs(*rs, dep.min_ready) as i32,
                    pods: r.active.len() as i32,
                    desired_annotation: *desired,
                    max_annotation: *max,
                }
            })
            .collect()
    }
}

/// Queries that sum over all of a Deployment's ReplicaSets.
impl World {
    /// Ready pods of `d`, over all its ReplicaSets.
    pub fn ready_of(&self, d: &super::Deployment) -> u32 {
        d.rss.iter().map(|r| self.ready_by_rs[r.0 as usize]).sum()
    }

    /// Pods of `d` not bound yet.
    pub fn pending_of(&self, d: &super::Deployment) -> u32 {
        d.rss.iter().map(|r| self.pending_count(*r)).sum()
    }

    /// Bound, non-terminating pods of `d` per node.
    pub fn bound_on_nodes(&self, d: &super::Deployment) -> std::borrow::Cow<'_, [u32]> {
        if let [only] = d.rss.as_slice() {
            return std::borrow::Cow::Borrowed(&self.bound_by_rs_node[only.0 as usize]);
        }
        let mut sum = vec![0u32; self.kube.nodes.len()];
        for r in &d.rss {
            for (s, c) in sum.iter_mut().zip(&self.bound_by_rs_node[r.0 as usize]) {
                *s += c;
            }
        }
        std::borrow::Cow::Owned(sum)
    }

    /// Pods of `d` not bound yet, ReplicaSet by ReplicaSet.
    pub fn pending_pods_of<'a>(
        &'a self,
        d: &'a super::Deployment,
    ) -> impl Iterator<Item = crate::model::kube::cluster::PodId> + 'a {
        d.rss.iter().flat_map(move |r| self.pending_pods(*r))
    }
}
