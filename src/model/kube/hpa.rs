//! The Horizontal Pod Autoscaler's decision arithmetic (autoscaling/v2), as
//! kube-controller-manager computes it in `pkg/controller/podautoscaler`
//! (`horizontal.go`, `replica_calculator.go`, `metrics/utilization.go`).
//!
//! It owns one HPA's reconcile: grouping pods (ignored, unready, missing,
//! ready), the usage ratio with its tolerance and conservative recomputation,
//! the maximum over several metrics, the stabilization windows, the scaling
//! policies with their per-period history, and the min/max clamps. `HpaState`
//! is the controller's in-memory history for one HPA (recommendations and scale
//! events), which the real controller keeps in maps keyed by the HPA.
//!
//! It never reads a clock, schedules a sync or changes a workload: the
//! simulation calls [`reconcile`] every sync period with what the controller
//! would see, and applies `desired_replicas` itself.
//!
//! Version notes: the tolerance test is `1 - t <= ratio <= 1 + t` (the form of
//! v1.33+, which differs from the older `|1 - ratio| <= t` only on the exact
//! boundary); the per-HPA `tolerance` field (HPAConfigurableTolerance) and
//! pod-level requests are not modelled.

use std::fmt;

use thiserror::Error;

use crate::kernel::{SimDuration, SimTime};

/// A resource an HPA `Resource` metric can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    /// `cpu`: samples and requests in millicores.
    Cpu,
    /// `memory`: samples and requests in bytes.
    Memory,
}

impl ResourceName {
    /// The Kubernetes name (`cpu`, `memory`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
        }
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `spec.metrics[].resource.target`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricTarget {
    /// `type: Utilization`, `averageUtilization` in percent of the request.
    Utilization(i32),
    /// `type: AverageValue`: millicores for CPU, bytes for memory.
    AverageValue(f64),
}

/// One `type: Resource` entry of `spec.metrics`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricSpec {
    /// The resource measured.
    pub resource: ResourceName,
    /// What the average pod should use.
    pub target: MetricTarget,
}

impl MetricSpec {
    /// The metric the API server defaults to when `spec.metrics` is empty:
    /// CPU at 80 % utilization.
    pub const DEFAULT: MetricSpec = MetricSpec {
        resource: ResourceName::Cpu,
        target: MetricTarget::Utilization(80),
    };

    /// The name the controller gives the metric in events and conditions.
    pub fn name(&self) -> String {
        match self.target {
            MetricTarget::Utilization(_) => {
                format!(
                    "{} resource utilization (percentage of request)",
                    self.resource
                )
            }
            MetricTarget::AverageValue(_) => format!("{} resource", self.resource),
        }
    }
}

/// `HPAScalingPolicy.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// A number of pods per period.
    Pods,
    /// A percentage of the replicas at the start of the period.
    Percent,
}

/// `HPAScalingPolicy`: at most `value` pods or percent per `period_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    /// Pods or Percent.
    pub kind: PolicyKind,
    /// The amount of change allowed per period.
    pub value: i32,
    /// The length of the period (1 to 1800 s).
    pub period_seconds: i32,
}

impl fmt::Display for ScalingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PolicyKind::Pods => write!(f, "Pods {}/{}s", self.value, self.period_seconds),
            PolicyKind::Percent => write!(f, "Percent {}%/{}s", self.value, self.period_seconds),
        }
    }
}

/// `HPAScalingRules.selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (the default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `HPAScalingRules` for one direction, with every default already filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds` (0 to 3600).
    pub stabilization_window_seconds: i32,
    /// `selectPolicy`.
    pub select_policy: SelectPolicy,
    /// `policies`.
    pub policies: Vec<ScalingPolicy>,
}

impl ScalingRules {
    /// The API's default scale-up rules: no window, Max of Pods 4 / 15 s and
    /// Percent 100 / 15 s (that order, as in `defaultHPAScaleUpRules`).
    pub fn default_scale_up() -> Self {
        ScalingRules {
            stabilization_window_seconds: 0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period_seconds: 15,
                },
                ScalingPolicy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period_seconds: 15,
                },
            ],
        }
    }

    /// The API's default scale-down rules: a 300 s window (the controller's
    /// `--horizontal-pod-autoscaler-downscale-stabilization`), Percent 100 / 15 s.
    pub fn default_scale_down() -> Self {
        ScalingRules {
            stabilization_window_seconds: 300,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 100,
                period_seconds: 15,
            }],
        }
    }
}

/// `spec.behavior`, both directions filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behavior {
    /// `behavior.scaleUp`.
    pub scale_up: ScalingRules,
    /// `behavior.scaleDown`.
    pub scale_down: ScalingRules,
}

impl Default for Behavior {
    /// What the API server fills in for `behavior: {}`.
    fn default() -> Self {
        Behavior {
            scale_up: ScalingRules::default_scale_up(),
            scale_down: ScalingRules::default_scale_down(),
        }
    }
}

/// The parts of an HPA's spec the arithmetic reads.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    /// `minReplicas` (1 unless set).
    pub min_replicas: i32,
    /// `maxReplicas`.
    pub max_replicas: i32,
    /// `metrics`; empty means the API default, CPU at 80 %.
    pub metrics: Vec<MetricSpec>,
    /// `behavior`. Use [`reconcile_without_behavior`] for an HPA whose
    /// manifest has no `behavior` at all: the controller then takes another path.
    pub behavior: Behavior,
}

/// kube-controller-manager's HPA flags.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpaConfig {
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimDuration,
    /// `--horizontal-pod-autoscaler-sync-period` (15 s); the simulation's cadence.
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5 min), used when
    /// the HPA has no `behavior`.
    pub downscale_stabilization: SimDuration,
}

impl Default for HpaConfig {
    fn default() -> Self {
        HpaConfig {
            tolerance: 0.1,
            cpu_initialization_period: SimDuration::from_secs(300),
            initial_readiness_delay: SimDuration::from_secs(30),
            sync_period: SimDuration::from_secs(15),
            downscale_stabilization: SimDuration::from_secs(300),
        }
    }
}

/// What the controller knows about one pod of the target at a sync, or about
/// `count` pods it cannot tell apart (see [`PodMetrics::settle`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PodMetrics {
    /// Pod name (of the first pod, for a class); names are unique within one call.
    pub name: String,
    /// How many identical pods this entry stands for (1 for a single pod, never 0).
    /// Every sum and count the calculator takes weighs the entry by it, so a
    /// class of `n` pods decides exactly as `n` copies would.
    pub count: u32,
    /// `status.phase == Failed`.
    pub phase_failed: bool,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// The Ready condition is True.
    pub ready: bool,
    /// `status.startTime`.
    pub start_time: SimTime,
    /// `lastTransitionTime` of the Ready condition. `None` means the pod has no
    /// Ready condition yet, which only a pod in phase Pending (unbound or still
    /// starting) lacks: the controller sets Pending pods aside as unready for
    /// every metric, and this module reads `None` that way.
    pub last_ready_transition: Option<SimTime>,
    /// Sum of the containers' CPU requests in millicores; `None` if any
    /// container has none.
    pub cpu_request_m: Option<u64>,
    /// Sum of the containers' memory requests in bytes; `None` if any container
    /// has none.
    pub memory_request: Option<u64>,
    /// The latest metrics-server sample, if any.
    pub sample: Option<Sample>,
}

impl PodMetrics {
    /// Forgets what cannot change any decision from `now` on, so that pods
    /// the calculator treats alike compare equal and can share one entry.
    ///
    /// A Ready pod past its CPU initialization period is read the same way
    /// whatever its start time and readiness transition (only their presence
    /// matters, see `classify`): both become time zero, which keeps every
    /// predicate on them as it was.
    pub fn settle(&mut self, cfg: &HpaConfig, now: SimTime) {
        let settled = self.ready
            && !self.deleting
            && !self.phase_failed
            && self.last_ready_transition.is_some()
            && self.start_time + cfg.cpu_initialization_period <= now;
        if settled {
            self.start_time = SimTime::ZERO;
            self.last_ready_transition = Some(SimTime::ZERO);
        }
    }

    /// True when `self` and `other` differ at most in name and count.
    pub fn same_class(&self, other: &PodMetrics) -> bool {
        self.phase_failed == other.phase_failed
            && self.deleting == other.deleting
            && self.ready == other.ready
            && self.start_time == other.start_time
            && self.last_ready_transition == other.last_ready_transition
            && self.cpu_request_m == other.cpu_request_m
            && self.memory_request == other.memory_request
            && self.sample == other.sample
    }
}

/// How many of the latest entries [`add_to_classes`] searches for an equal one.
const CLASS_SEARCH: usize = 8;

/// Adds `pod` (count 1, settled) to `classes`: one more pod of an equal entry
/// among the last few, or a new entry named by `name()`; true when it made a
/// new entry. Pods of one ReplicaSet in one state arrive in runs, so the short
/// search finds their entry; a miss only costs an extra entry, never a
/// different decision.
pub fn add_to_classes(
    classes: &mut Vec<PodMetrics>,
    mut pod: PodMetrics,
    name: impl FnOnce() -> String,
) -> bool {
    let from = classes.len().saturating_sub(CLASS_SEARCH);
    match classes[from..].iter().rposition(|c| c.same_class(&pod)) {
        Some(i) => {
            classes[from + i].count += pod.count;
            false
        }
        None => {
            pod.name = name();
            classes.push(pod);
            true
        }
    }
}

/// One metrics-server sample of a pod (`PodMetrics.timestamp`/`window`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// End of the measurement window.
    pub timestamp: SimTime,
    /// Length of the measurement window.
    pub window: SimDuration,
    /// CPU use in millicores, summed over containers.
    pub cpu_m: f64,
    /// Memory working set in bytes, summed over containers.
    pub memory: f64,
}

/// A recommendation the controller remembers for stabilization
/// (`timestampedRecommendation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommendation {
    /// Replicas recommended before stabilization.
    pub replicas: i32,
    /// When it was made.
    pub at: SimTime,
}

/// A scale the controller made (`timestampedScaleEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    /// How many replicas were added or removed (non-negative).
    pub replica_change: i32,
    /// When.
    pub at: SimTime,
    /// Older than the longest policy period when last checked; the slot is
    /// reused by the next event.
    pub outdated: bool,
}

/// The controller's in-memory history for one HPA. It starts empty, as after a
/// controller restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaState {
    /// Unstabilized recommendations; slots older than every window are reused.
    pub recommendations: Vec<Recommendation>,
    /// Scale-ups, for the scale-up policies' periods.
    pub scale_up_events: Vec<ScaleEvent>,
    /// Scale-downs, for the scale-down policies' periods.
    pub scale_down_events: Vec<ScaleEvent>,
    /// `status.lastScaleTime`.
    pub last_scale_time: Option<SimTime>,
}

impl HpaState {
    /// An empty history.
    pub fn new() -> Self {
        HpaState::default()
    }
}

/// An HPA status condition type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConditionType {
    /// Whether the controller can fetch and update the scale, and whether
    /// stabilization held the recommendation back.
    AbleToScale,
    /// Whether metrics produced a replica count.
    ScalingActive,
    /// Whether the result was capped by min/max or a rate policy.
    ScalingLimited,
}

/// One status condition as the controller sets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// Condition type.
    pub kind: ConditionType,
    /// True or False.
    pub status: bool,
    /// CamelCase reason, e.g. `ScaleDownStabilized`.
    pub reason: String,
    /// Human message, word for word from the controller.
    pub message: String,
}

/// The outcome of one metric (`status.currentMetrics[]` plus the proposal).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricResult {
    /// The resource measured.
    pub resource: ResourceName,
    /// Replicas this metric proposes; `None` on error.
    pub replicas: Option<i32>,
    /// Uncorrected usage ratio (current / target).
    pub ratio: Option<f64>,
    /// Uncorrected average utilization in percent (Utilization targets only).
    pub current_utilization: Option<i32>,
    /// Uncorrected average use per ready pod: millicores or bytes.
    pub current_average: Option<f64>,
    /// Why no proposal was made (the replica calculator's message).
    pub error: Option<String>,
    /// Pods whose samples counted.
    pub ready_pods: usize,
    /// Pods deleted or Failed, dropped entirely.
    pub ignored_pods: usize,
    /// Pods set aside as not yet ready (Pending, or CPU warming up).
    pub unready_pods: usize,
    /// Pods without a sample.
    pub missing_pods: usize,
}

/// One reconcile's decision, with every input shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// `scale.spec.replicas` as read.
    pub current_replicas: i32,
    /// Replicas after this sync (equal to `current_replicas` when not scaling).
    pub desired_replicas: i32,
    /// Every metric's result, in spec order.
    pub metrics: Vec<MetricResult>,
    /// The replicas the metrics asked for, before stabilization and policies.
    pub recommendation: i32,
    /// The recommendation after the stabilization window.
    pub stabilized: i32,
    /// Set when min/max or a rate policy capped the stabilized recommendation:
    /// `Reason: message`, naming the policy when one applied.
    pub limited_by: Option<String>,
    /// Human explanation: the rescale event's message, or why nothing changed.
    pub reason: String,
    /// ScalingActive: false when scaling is disabled or no usable metric.
    pub active: bool,
    /// The conditions this sync set, one per type.
    pub conditions: Vec<Condition>,
}

/// Why a metric produced no replica count (replica calculator messages).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MetricError {
    /// The target has no pods at all.
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    /// Every pod was ignored, unready or without a sample.
    #[error("did not receive metrics for targeted pods (pods might be unready)")]
    NoMetrics,
    /// A pod (any pod of the target, even an ignored one) lacks a request.
    #[error("missing request for {resource} in a container of Pod {pod}")]
    MissingRequest {
        /// The resource.
        resource: ResourceName,
        /// The pod.
        pod: String,
    },
    /// The requests of the pods with samples sum to zero.
    #[error("no metrics returned matched known pods")]
    NoMatchingRequests,
}

/// An HPA spec the API server would reject.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum HpaSpecError {
    /// `minReplicas` below 1 (0 needs the HPAScaleToZero alpha gate).
    #[error("spec.minReplicas: must be greater than or equal to 1")]
    MinReplicas,
    /// `maxReplicas` below `minReplicas` or below 1.
    #[error("spec.maxReplicas: must be greater than or equal to `minReplicas` and 1")]
    MaxReplicas,
    /// A Utilization target of zero or less.
    #[error("spec.metrics[{0}].resource.target.averageUtilization: must be greater than 0")]
    Utilization(usize),
    /// An AverageValue target of zero or less.
    #[error("spec.metrics[{0}].resource.target.averageValue: must be positive")]
    AverageValue(usize),
    /// A stabilization window outside 0..=3600 s.
    #[error("spec.behavior.{0}.stabilizationWindowSeconds: must be between 0 and 3600")]
    Window(&'static str),
    /// Rules without a policy.
    #[error("spec.behavior.{0}.policies: must specify at least one Policy")]
    NoPolicy(&'static str),
    /// A policy value of zero or less.
    #[error("spec.behavior.{0}.policies[{1}].value: must be greater than zero")]
    PolicyValue(&'static str, usize),
    /// A policy period outside 1..=1800 s.
    #[error(
        "spec.behavior.{0}.policies[{1}].periodSeconds: must be greater than zero and less than or equal to 1800"
    )]
    PolicyPeriod(&'static str, usize),
}

/// Checks `spec` as the API server's validation would; [`reconcile`] assumes a
/// valid spec.
pub fn validate(spec: &HpaSpec) -> Result<(), HpaSpecError> {
    if spec.min_replicas < 1 {
        return Err(HpaSpecError::MinReplicas);
    }
    if spec.max_replicas < spec.min_replicas.max(1) {
        return Err(HpaSpecError::MaxReplicas);
    }
    for (i, m) in spec.metrics.iter().enumerate() {
        match m.target {
            MetricTarget::Utilization(u) if u <= 0 => return Err(HpaSpecError::Utilization(i)),
            MetricTarget::AverageValue(v) if v.is_nan() || v <= 0.0 => {
                return Err(HpaSpecError::AverageValue(i));
            }
            _ => {}
        }
    }
    validate_rules("scaleUp", &spec.behavior.scale_up)?;
    validate_rules("scaleDown", &spec.behavior.scale_down)
}

fn validate_rules(direction: &'static str, rules: &ScalingRules) -> Result<(), HpaSpecError> {
    if !(0..=3600).contains(&rules.stabilization_window_seconds) {
        return Err(HpaSpecError::Window(direction));
    }
    if rules.policies.is_empty() {
        return Err(HpaSpecError::NoPolicy(direction));
    }
    for (i, p) in rules.policies.iter().enumerate() {
        if p.value <= 0 {
            return Err(HpaSpecError::PolicyValue(direction, i));
        }
        if !(1..=1800).contains(&p.period_seconds) {
            return Err(HpaSpecError::PolicyPeriod(direction, i));
        }
    }
    Ok(())
}

/// One reconcile of an HPA that has `spec.behavior` (the API fills an empty
/// `behavior: {}` with [`Behavior::default`]): returns the decision with every
/// input shown.
///
/// When `desired_replicas != current_replicas` this records the scale event and
/// `last_scale_time` in `state`, as the controller does right after a
/// successful scale update: the caller must apply the new replica count.
pub fn reconcile(
    spec: &HpaSpec,
    cfg: &HpaConfig,
    state: &mut HpaState,
    current_replicas: i32,
    pods: &[PodMetrics],
    now: SimTime,
) -> Decision {
    reconcile_with(
        spec,
        Some(&spec.behavior),
        cfg,
        state,
        current_replicas,
        pods,
        now,
    )
}

/// One reconcile of an HPA whose manifest has no `behavior`: the controller's
/// older path, ignoring `spec.behavior`. Scale-downs are held by
/// `cfg.downscale_stabilization`; scale-ups are capped at
/// `max(2 * current, 4)` per sync with no history. Records like [`reconcile`].
pub fn reconcile_without_behavior(
    spec: &HpaSpec,
    cfg: &HpaConfig,
    state: &mut HpaState,
    current_replicas: i32,
    pods: &[PodMetrics],
    now: SimTime,
) -> Decision {
    reconcile_with(spec, None, cfg, state, current_replicas, pods, now)
}

/// `reconcileAutoscaler`, from the scale read to the status written.
fn reconcile_with(
    spec: &HpaSpec,
    behavior: Option<&Behavior>,
    cfg: &HpaConfig,
    state: &mut HpaState,
    current: i32,
    pods: &[PodMetrics],
    now: SimTime,
) -> Decision {
    debug_assert!(validate(spec).is_ok(), "invalid HPA spec: {spec:?}");
    let mut d = Decision {
        current_replicas: current,
        desired_replicas: current,
        metrics: Vec::new(),
        recommendation: current,
        stabilized: current,
        limited_by: None,
        reason: String::new(),
        active: true,
        conditions: Vec::new(),
    };
    set_condition(
        &mut d.conditions,
        ConditionType::AbleToScale,
        true,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
    );
    state.record_initial_recommendation(current, now);

    let min = spec.min_replicas;
    let rescale_reason = if current == 0 && min != 0 {
        return disabled(d);
    } else if current > spec.max_replicas {
        bring_in(&mut d, spec.max_replicas);
        "Current number of replicas above Spec.MaxReplicas".to_string()
    } else if current < min {
        bring_in(&mut d, min);
        "Current number of replicas below Spec.MinReplicas".to_string()
    } else {
        let outcome = compute_replicas_for_metrics(spec, cfg, current, pods, now);
        d.metrics = outcome.results;
        let Some(proposal) = outcome.replicas else {
            return metrics_failed(d, outcome.condition, outcome.error);
        };
        let reason = recommend(&mut d, proposal, &outcome.metric_name);
        normalize(&mut d, spec, behavior, cfg, state, now);
        reason
    };
    finish(d, behavior, state, now, rescale_reason)
}

/// Replicas outside `[min, max]` go straight to the bound: no metrics, no
/// stabilization, no rate limit.
fn bring_in(d: &mut Decision, bound: i32) {
    d.recommendation = bound;
    d.stabilized = bound;
    d.desired_replicas = bound;
}

/// Takes the metrics' proposal as the recommendation (ScalingActive True) and
/// returns the rescale reason the event would carry.
fn recommend(d: &mut Decision, proposal: i32, metric_name: &str) -> String {
    set_condition(
        &mut d.conditions,
        ConditionType::ScalingActive,
        true,
        "ValidMetricFound",
        &format!("the HPA was able to successfully calculate a replica count from {metric_name}"),
    );
    // desiredReplicas starts at 0 and takes the metrics' proposal only if
    // larger, so a proposal of 0 is reported without a metric name.
    let (recommendation, metric) = if proposal > 0 {
        (proposal, metric_name)
    } else {
        (0, "")
    };
    d.recommendation = recommendation;
    let current = d.current_replicas;
    if recommendation > current {
        format!("{metric} above target")
    } else if recommendation < current {
        "All metrics below target".to_string()
    } else {
        String::new()
    }
}

/// ScalingActive False: the target has been scaled to zero by someone else.
fn disabled(mut d: Decision) -> Decision {
    let message = "scaling is disabled since the replica count of the target is zero";
    set_condition(
        &mut d.conditions,
        ConditionType::ScalingActive,
        false,
        "ScalingDisabled",
        message,
    );
    d.active = false;
    d.reason = message.to_string();
    d
}

/// No usable metric (or only some, suggesting a scale-down): nothing changes.
fn metrics_failed(mut d: Decision, condition: Option<Condition>, error: String) -> Decision {
    if let Some(c) = condition {
        set_condition(&mut d.conditions, c.kind, c.status, &c.reason, &c.message);
    }
    d.active = false;
    d.reason = error;
    d
}

/// Rescale (recording the event) or explain why not.
fn finish(
    mut d: Decision,
    behavior: Option<&Behavior>,
    state: &mut HpaState,
    now: SimTime,
    rescale_reason: String,
) -> Decision {
    let (current, desired) = (d.current_replicas, d.desired_replicas);
    if desired == current {
        d.reason = format!("Decided not to scale: {}", hold_reason(&d));
        return d;
    }
    set_condition(
        &mut d.conditions,
        ConditionType::AbleToScale,
        true,
        "SucceededRescale",
        &format!("the HPA controller was able to update the target scale to {desired}"),
    );
    d.reason = format!("New size: {desired}; reason: {rescale_reason}");
    if let Some(b) = behavior {
        state.store_scale_event(b, current, desired, now);
    }
    state.last_scale_time = Some(now);
    d
}

/// Why the replica count stays: the limit, the stabilization, or the metrics.
fn hold_reason(d: &Decision) -> String {
    if let Some(limit) = &d.limited_by {
        return limit.clone();
    }
    if d.stabilized != d.recommendation {
        let c = d
            .conditions
            .iter()
            .find(|c| c.kind == ConditionType::AbleToScale);
        return c.map(|c| c.message.clone()).unwrap_or_default();
    }
    "recommended size matches current size".to_string()
}

/// Sets `kind` in `conditions`, replacing an earlier value (`setConditionInList`).
fn set_condition(
    conditions: &mut Vec<Condition>,
    kind: ConditionType,
    status: bool,
    reason: &str,
    message: &str,
) {
    let c = Condition {
        kind,
        status,
        reason: reason.to_string(),
        message: message.to_string(),
    };
    match conditions.iter_mut().find(|x| x.kind == kind) {
        Some(slot) => *slot = c,
        None => conditions.push(c),
    }
}

// ---------------------------------------------------------------------------
// Several metrics (computeReplicasForMetrics)
// ---------------------------------------------------------------------------

/// What `computeReplicasForMetrics` returns.
struct MetricsOutcome {
    /// `None` is the controller's `-1`: no scaling this sync.
    replicas: Option<i32>,
    metric_name: String,
    results: Vec<MetricResult>,
    /// The first invalid metric's ScalingActive condition.
    condition: Option<Condition>,
    /// `invalid metrics (n invalid out of m), first error is: ...`.
    error: String,
}

fn compute_replicas_for_metrics(
    spec: &HpaSpec,
    cfg: &HpaConfig,
    current: i32,
    pods: &[PodMetrics],
    now: SimTime,
) -> MetricsOutcome {
    let defaulted = [MetricSpec::DEFAULT];
    let specs: &[MetricSpec] = if spec.metrics.is_empty() {
        &defaulted
    } else {
        &spec.metrics
    };
    let mut out = MetricsOutcome {
        replicas: None,
        metric_name: String::new(),
        results: Vec::with_capacity(specs.len()),
        condition: None,
        error: String::new(),
    };
    let mut replicas = 0;
    let mut invalid = 0;
    let mut first_error = String::new();
    for m in specs {
        let (result, failure) = compute_metric(m, cfg, current, pods, now);
        if let Some((condition, error)) = failure {
            if invalid == 0 {
                out.condition = Some(condition);
                first_error = error;
            }
            invalid += 1;
        } else if let Some(r) = result.replicas {
            // The first proposal, or a larger one, wins (strictly larger: ties
            // keep the earlier metric's name unless the earlier proposed 0).
            if replicas == 0 || r > replicas {
                replicas = r;
                out.metric_name = m.name();
            }
        }
        out.results.push(result);
    }
    if invalid > 0 {
        out.error = format!(
            "invalid metrics ({invalid} invalid out of {}), first error is: {first_error}",
            specs.len()
        );
    }
    // All invalid, or some invalid while the valid ones would scale down:
    // acting on partial data could remove pods that are in fact busy.
    if invalid >= specs.len() || (invalid > 0 && replicas < current) {
        return out;
    }
    out.replicas = Some(replicas);
    out
}

/// One metric: its result, and on failure the ScalingActive condition and the
/// error as `computeReplicasForMetric` wraps it.
fn compute_metric(
    m: &MetricSpec,
    cfg: &HpaConfig,
    current: i32,
    pods: &[PodMetrics],
    now: SimTime,
) -> (MetricResult, Option<(Condition, String)>) {
    let groups = group_pods(pods, m.resource, cfg, now);
    let mut result = MetricResult {
        resource: m.resource,
        replicas: None,
        ratio: None,
        current_utilization: None,
        current_average: None,
        error: None,
        ready_pods: groups.metrics.pods(pods),
        ignored_pods: groups.ignored,
        unready_pods: count_of(pods, &groups.unready),
        missing_pods: count_of(pods, &groups.missing),
    };
    let calculated = if pods.is_empty() {
        Err(MetricError::NoPods)
    } else if groups.metrics.0.is_empty() {
        Err(MetricError::NoMetrics)
    } else {
        match m.target {
            MetricTarget::Utilization(t) => {
                utilization_replicas(current, t, m.resource, pods, &groups, cfg.tolerance)
            }
            MetricTarget::AverageValue(v) => Ok(plain_replicas(
                current,
                milli_value(m.resource, v),
                pods,
                &groups,
                cfg.tolerance,
            )),
        }
    };
    match calculated {
        Ok(p) => {
            result.replicas = Some(p.replicas);
            result.ratio = Some(p.ratio);
            result.current_utilization = p.utilization;
            result.current_average = Some(from_milli(m.resource, p.raw_average));
            (result, None)
        }
        Err(e) => {
            result.error = Some(e.to_string());
            let failure = metric_failure(m, &e);
            (result, Some(failure))
        }
    }
}

/// The condition and error the controller builds for a failed resource metric.
fn metric_failure(m: &MetricSpec, e: &MetricError) -> (Condition, String) {
    let what = match m.target {
        MetricTarget::Utilization(_) => "utilization",
        MetricTarget::AverageValue(_) => "usage",
    };
    let inner = format!("failed to get {} {what}: {e}", m.resource);
    let condition = Condition {
        kind: ConditionType::ScalingActive,
        status: false,
        reason: "FailedGetResourceMetric".to_string(),
        message: format!("the HPA was unable to compute the replica count: {inner}"),
    };
    let error = format!(
        "failed to get {} resource metric value: {inner}",
        m.resource
    );
    (condition, error)
}

// ---------------------------------------------------------------------------
// Pod grouping (groupPods)
// ---------------------------------------------------------------------------

/// Pod values in milli-units (millicores, millibytes): `(entry index in the
/// pods slice, value)`. Each entry weighs its pod count. Names are unique, so
/// the controller's name-keyed maps are entry-indexed lists here.
#[derive(Clone)]
struct Values(Vec<(usize, i64)>);

impl Values {
    /// Pods counted (the controller's `len(metrics)`).
    fn pods(&self, pods: &[PodMetrics]) -> usize {
        self.0.iter().map(|(i, _)| pods[*i].count as usize).sum()
    }
}

/// The pods of one metric computation, by how their samples count.
struct PodGroups {
    /// Samples of ready pods.
    metrics: Values,
    /// Pending pods, and CPU samples from pods still warming up.
    unready: Vec<usize>,
    /// Pods without a sample.
    missing: Vec<usize>,
    /// Deleted or Failed pods.
    ignored: usize,
}

/// Pods in the entries `list`.
fn count_of(pods: &[PodMetrics], list: &[usize]) -> usize {
    list.iter().map(|i| pods[*i].count as usize).sum()
}

fn group_pods(
    pods: &[PodMetrics],
    resource: ResourceName,
    cfg: &HpaConfig,
    now: SimTime,
) -> PodGroups {
    let mut g = PodGroups {
        metrics: Values(Vec::new()),
        unready: Vec::new(),
        missing: Vec::new(),
        ignored: 0,
    };
    for (i, pod) in pods.iter().enumerate() {
        match classify(pod, resource, cfg, now) {
            Group::Ignored => g.ignored += pod.count as usize,
            Group::Unready => g.unready.push(i),
            Group::Missing => g.missing.push(i),
            Group::Ready(v) => g.metrics.0.push((i, v)),
        }
    }
    g
}

enum Group {
    Ignored,
    Unready,
    Missing,
    Ready(i64),
}

/// The order of the checks is the controller's: deleted/Failed, Pending,
/// no sample, then (CPU only) readiness.
fn classify(pod: &PodMetrics, resource: ResourceName, cfg: &HpaConfig, now: SimTime) -> Group {
    if pod.deleting || pod.phase_failed {
        return Group::Ignored;
    }
    let Some(ready_since) = pod.last_ready_transition else {
        return Group::Unready; // phase Pending
    };
    let Some(sample) = &pod.sample else {
        return Group::Missing;
    };
    if resource == ResourceName::Cpu && cpu_sample_unready(pod, ready_since, sample, cfg, now) {
        return Group::Unready;
    }
    let value = match resource {
        ResourceName::Cpu => sample.cpu_m,
        ResourceName::Memory => sample.memory,
    };
    Group::Ready(milli_value(resource, value))
}

/// CPU spikes at start-up, so the controller distrusts samples from young pods.
fn cpu_sample_unready(
    pod: &PodMetrics,
    ready_since: SimTime,
    sample: &Sample,
    cfg: &HpaConfig,
    now: SimTime,
) -> bool {
    if pod.start_time + cfg.cpu_initialization_period > now {
        // Within the initialization period: unready, or ready too recently for
        // a whole sample window to have passed since.
        !pod.ready || sample.timestamp < ready_since + sample.window
    } else {
        // Later: only a pod that has never been ready (its condition last
        // changed within the readiness delay after start) is set aside.
        !pod.ready && pod.start_time + cfg.initial_readiness_delay > ready_since
    }
}

/// `Quantity.MilliValue()`: millicores stay as they are (rounded up), bytes
/// become millibytes. The ratios are the same in either unit, but integer
/// averages truncate in milli-units, as in the controller.
fn milli_value(resource: ResourceName, v: f64) -> i64 {
    let milli = match resource {
        ResourceName::Cpu => v,
        ResourceName::Memory => v * 1000.0,
    };
    milli.max(0.0).ceil() as i64
}

/// Back from milli-units to millicores or bytes.
fn from_milli(resource: ResourceName, milli: i64) -> f64 {
    match resource {
        ResourceName::Cpu => milli as f64,
        ResourceName::Memory => milli as f64 / 1000.0,
    }
}

// ---------------------------------------------------------------------------
// Replica calculator
// ---------------------------------------------------------------------------

/// One metric's proposal, with the uncorrected figures for the status.
struct Proposal {
    replicas: i32,
    ratio: f64,
    utilization: Option<i32>,
    /// Uncorrected average in milli-units.
    raw_average: i64,
}

/// `Tolerances.isWithin`: no change for a ratio in `[1 - t, 1 + t]`.
fn within_tolerance(tolerance: f64, ratio: f64) -> bool {
    (1.0 - tolerance) <= ratio && ratio <= (1.0 + tolerance)
}

/// `int32(math.Ceil(x))`, saturating where Go would overflow.
fn ceil_i32(x: f64) -> i32 {
    x.ceil() as i32
}

/// `GetResourceReplicas`: a Utilization target.
fn utilization_replicas(
    current: i32,
    target: i32,
    resource: ResourceName,
    pods: &[PodMetrics],
    g: &PodGroups,
    tolerance: f64,
) -> Result<Proposal, MetricError> {
    let requests = pod_requests(pods, resource)?;
    let (ratio, utilization, raw_average) = utilization_ratio(&g.metrics, &requests, pods, target)?;
    let mut proposal = Proposal {
        replicas: current,
        ratio,
        utilization: Some(utilization),
        raw_average,
    };
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if !within_tolerance(tolerance, ratio) {
            proposal.replicas = ceil_i32(ratio * g.metrics.pods(pods) as f64);
        }
        return Ok(proposal);
    }
    // Recompute conservatively: missing pods at the target (at least 100 % of
    // their request) on a scale-down and at 0 on a scale-up; unready pods at 0
    // on a scale-up only.
    let mut metrics = g.metrics.clone();
    if ratio < 1.0 {
        let fallback = i64::from(target.max(100));
        for &p in &g.missing {
            metrics.0.push((p, requests[p] * fallback / 100));
        }
    } else if ratio > 1.0 {
        for &p in &g.missing {
            metrics.0.push((p, 0));
        }
    }
    if scale_up_with_unready {
        for &p in &g.unready {
            metrics.0.push((p, 0));
        }
    }
    let (new_ratio, _, _) = utilization_ratio(&metrics, &requests, pods, target)?;
    let counted = metrics.pods(pods);
    proposal.replicas = rebalanced(current, ratio, new_ratio, counted, tolerance);
    Ok(proposal)
}

/// `GetRawResourceReplicas` / `calcPlainMetricReplicas`: an AverageValue target
/// in milli-units. No requests are needed.
fn plain_replicas(
    current: i32,
    target: i64,
    pods: &[PodMetrics],
    g: &PodGroups,
    tolerance: f64,
) -> Proposal {
    let (ratio, usage) = usage_ratio(&g.metrics, pods, target);
    let mut proposal = Proposal {
        replicas: current,
        ratio,
        utilization: None,
        raw_average: usage,
    };
    let scale_up_with_unready = !g.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if !within_tolerance(tolerance, ratio) {
            proposal.replicas = ceil_i32(ratio * g.metrics.pods(pods) as f64);
        }
        return proposal;
    }
    let mut metrics = g.metrics.clone();
    if ratio < 1.0 {
        for &p in &g.missing {
            metrics.0.push((p, target));
        }
    } else if ratio > 1.0 {
        for &p in &g.missing {
            metrics.0.push((p, 0));
        }
    }
    if scale_up_with_unready {
        for &p in &g.unready {
            metrics.0.push((p, 0));
        }
    }
    let (new_ratio, _) = usage_ratio(&metrics, pods, target);
    let counted = metrics.pods(pods);
    proposal.replicas = rebalanced(current, ratio, new_ratio, counted, tolerance);
    proposal
}

/// The end of both calculators once samples were filled in: no change if the
/// corrected ratio is within tolerance or points the other way, or if the
/// larger pod count would move the replicas against the ratio.
fn rebalanced(current: i32, ratio: f64, new_ratio: f64, counted: usize, tolerance: f64) -> i32 {
    if within_tolerance(tolerance, new_ratio)
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return current;
    }
    let replicas = ceil_i32(new_ratio * counted as f64);
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return current;
    }
    replicas
}

/// Requests of every pod of the target in milli-units, by entry. Ignored and
/// unready pods are included: one pod without a request fails the whole metric.
fn pod_requests(pods: &[PodMetrics], resource: ResourceName) -> Result<Vec<i64>, MetricError> {
    let mut requests = Vec::with_capacity(pods.len());
    for pod in pods {
        let request = match resource {
            ResourceName::Cpu => pod.cpu_request_m,
            ResourceName::Memory => pod.memory_request,
        };
        let Some(r) = request else {
            return Err(MetricError::MissingRequest {
                resource,
                pod: pod.name.clone(),
            });
        };
        requests.push(milli_value(resource, r as f64));
    }
    Ok(requests)
}

/// `GetResourceUtilizationRatio`: the utilization is an integer percent
/// (truncated), and the ratio is computed from that integer.
fn utilization_ratio(
    metrics: &Values,
    requests: &[i64],
    pods: &[PodMetrics],
    target: i32,
) -> Result<(f64, i32, i64), MetricError> {
    // Every entry has a request (`pod_requests` failed otherwise), so no
    // sample is extraneous here.
    let (mut used, mut requested, mut entries) = (0i128, 0i128, 0i128);
    for &(i, value) in &metrics.0 {
        let n = i128::from(pods[i].count);
        used += i128::from(value) * n;
        requested += i128::from(requests[i]) * n;
        entries += n;
    }
    if requested == 0 {
        return Err(MetricError::NoMatchingRequests);
    }
    let percent = (used * 100 / requested).clamp(i128::from(i32::MIN), i128::from(i32::MAX));
    let utilization = percent as i32;
    let raw_average = (used / entries) as i64;
    Ok((
        f64::from(utilization) / f64::from(target),
        utilization,
        raw_average,
    ))
}

/// `GetMetricUsageRatio`: an integer average in milli-units over the target.
fn usage_ratio(metrics: &Values, pods: &[PodMetrics], target: i64) -> (f64, i64) {
    let total: i128 = metrics
        .0
        .iter()
        .map(|&(i, v)| i128::from(v) * i128::from(pods[i].count))
        .sum();
    let usage = (total / metrics.pods(pods) as i128) as i64;
    (usage as f64 / target as f64, usage)
}

// ---------------------------------------------------------------------------
// Stabilization and rate limits
// ---------------------------------------------------------------------------

/// `t` is strictly after `now - span` (Go's `t.After(cutoff)`).
fn after_cutoff(t: SimTime, now: SimTime, span: SimDuration) -> bool {
    t + span > now
}

/// `t` is strictly before `now - span` (Go's `t.Before(cutoff)`).
fn before_cutoff(t: SimTime, now: SimTime, span: SimDuration) -> bool {
    now.as_ms() > span.as_ms() && t.as_ms() < now.as_ms() - span.as_ms()
}

fn seconds(s: i32) -> SimDuration {
    SimDuration::from_secs(u64::try_from(s.max(0)).unwrap_or(0))
}

impl HpaState {
    /// `recordInitialRecommendation`: the first sync remembers the current
    /// replicas, so a fresh controller does not scale down at once.
    fn record_initial_recommendation(&mut self, current: i32, now: SimTime) {
        if self.recommendations.is_empty() {
            self.recommendations.push(Recommendation {
                replicas: current,
                at: now,
            });
        }
    }

    /// Stores `rec`, reusing the slot of a recommendation older than every
    /// window (the last one found), as the controller does.
    fn remember(&mut self, old_slot: Option<usize>, rec: Recommendation) {
        match old_slot {
            Some(i) => self.recommendations[i] = rec,
            None => self.recommendations.push(rec),
        }
    }

    /// `stabilizeRecommendationWithBehaviors`: the lowest recommendation of the
    /// scale-up window and the highest of the scale-down window bound the
    /// current replicas.
    fn stabilize_with_behaviors(
        &mut self,
        b: &Behavior,
        current: i32,
        desired: i32,
        now: SimTime,
    ) -> (i32, &'static str, &'static str) {
        let up_window = seconds(b.scale_up.stabilization_window_seconds);
        let down_window = seconds(b.scale_down.stabilization_window_seconds);
        let (mut up, mut down) = (desired, desired);
        let mut old_slot = None;
        for (i, rec) in self.recommendations.iter().enumerate() {
            if after_cutoff(rec.at, now, up_window) {
                up = up.min(rec.replicas);
            }
            if after_cutoff(rec.at, now, down_window) {
                down = down.max(rec.replicas);
            }
            if before_cutoff(rec.at, now, up_window) && before_cutoff(rec.at, now, down_window) {
                old_slot = Some(i);
            }
        }
        let stabilized = current.max(up).min(down);
        self.remember(
            old_slot,
            Recommendation {
                replicas: desired,
                at: now,
            },
        );
        if desired >= current {
            (
                stabilized,
                "ScaleUpStabilized",
                "recent recommendations were lower than current one, applying the lowest recent recommendation",
            )
        } else {
            (
                stabilized,
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation",
            )
        }
    }

    /// `stabilizeRecommendation` (no behavior): the highest recommendation not
    /// older than the downscale window.
    fn stabilize_legacy(&mut self, desired: i32, window: SimDuration, now: SimTime) -> i32 {
        let mut highest = desired;
        let mut old_slot = None;
        for (i, rec) in self.recommendations.iter().enumerate() {
            if before_cutoff(rec.at, now, window) {
                old_slot = Some(i);
            } else if rec.replicas > highest {
                highest = rec.replicas;
            }
        }
        self.remember(
            old_slot,
            Recommendation {
                replicas: desired,
                at: now,
            },
        );
        highest
    }

    /// `getReplicasChangePerPeriod` for both directions: the replicas at the
    /// start of a policy's period.
    fn period_start_replicas(&self, current: i32, period_seconds: i32, now: SimTime) -> i32 {
        let period = seconds(period_seconds);
        let sum = |events: &[ScaleEvent]| -> i32 {
            events
                .iter()
                .filter(|e| after_cutoff(e.at, now, period))
                .map(|e| e.replica_change)
                .sum()
        };
        current - sum(&self.scale_up_events) + sum(&self.scale_down_events)
    }

    /// `storeScaleEvent`: marks events older than the direction's longest
    /// policy period as outdated and reuses the last such slot.
    fn store_scale_event(&mut self, b: &Behavior, previous: i32, new: i32, now: SimTime) {
        let (events, rules, change) = if new > previous {
            (&mut self.scale_up_events, &b.scale_up, new - previous)
        } else {
            (&mut self.scale_down_events, &b.scale_down, previous - new)
        };
        let longest = rules
            .policies
            .iter()
            .map(|p| p.period_seconds)
            .fold(0, i32::max);
        let mut slot = None;
        for (i, e) in events.iter_mut().enumerate() {
            if before_cutoff(e.at, now, seconds(longest)) {
                e.outdated = true;
            }
            if e.outdated {
                slot = Some(i);
            }
        }
        let event = ScaleEvent {
            replica_change: change,
            at: now,
            outdated: false,
        };
        match slot {
            Some(i) => events[i] = event,
            None => events.push(event),
        }
    }
}

/// A rate limit and the policy that set it, for explanations.
struct RateLimit {
    replicas: i32,
    policy: Option<(ScalingPolicy, i32)>,
}

/// `calculateScaleUpLimitWithScalingRules`.
fn scale_up_limit(current: i32, state: &HpaState, rules: &ScalingRules, now: SimTime) -> RateLimit {
    let proposals = rules.policies.iter().map(|p| {
        let start = state.period_start_replicas(current, p.period_seconds, now);
        let proposed = match p.kind {
            PolicyKind::Pods => start.saturating_add(p.value),
            // Rounded up so that a small percentage still adds a pod; the
            // float product is the controller's (50 * 1.1 rounds up to 56).
            PolicyKind::Percent => ceil_i32(f64::from(start) * (1.0 + f64::from(p.value) / 100.0)),
        };
        (*p, start, proposed)
    });
    match rules.select_policy {
        SelectPolicy::Disabled => RateLimit {
            replicas: current,
            policy: None,
        },
        SelectPolicy::Min => select(proposals, i32::MAX, |a, b| b < a),
        SelectPolicy::Max => select(proposals, i32::MIN, |a, b| b > a),
    }
}

/// `calculateScaleDownLimitWithBehaviors`.
fn scale_down_limit(
    current: i32,
    state: &HpaState,
    rules: &ScalingRules,
    now: SimTime,
) -> RateLimit {
    let proposals = rules.policies.iter().map(|p| {
        let start = state.period_start_replicas(current, p.period_seconds, now);
        let proposed = match p.kind {
            PolicyKind::Pods => start.saturating_sub(p.value),
            // Truncated toward zero, as Go's int32 conversion does.
            PolicyKind::Percent => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
        };
        (*p, start, proposed)
    });
    match rules.select_policy {
        SelectPolicy::Disabled => RateLimit {
            replicas: current,
            policy: None,
        },
        // For a scale-down the smallest change is the highest floor.
        SelectPolicy::Min => select(proposals, i32::MIN, |a, b| b > a),
        SelectPolicy::Max => select(proposals, i32::MAX, |a, b| b < a),
    }
}

/// Folds the policies' proposals; `better(kept, proposed)` says whether the
/// proposal replaces the kept value (ties keep the earlier policy).
fn select(
    proposals: impl Iterator<Item = (ScalingPolicy, i32, i32)>,
    initial: i32,
    better: impl Fn(i32, i32) -> bool,
) -> RateLimit {
    let mut limit = RateLimit {
        replicas: initial,
        policy: None,
    };
    for (policy, start, proposed) in proposals {
        if better(limit.replicas, proposed) {
            limit = RateLimit {
                replicas: proposed,
                policy: Some((policy, start)),
            };
        }
    }
    limit
}

/// The result of a normalization step: replicas, condition reason and message,
/// and the policy behind a rate limit.
struct Normalized {
    replicas: i32,
    reason: &'static str,
    message: &'static str,
    policy: Option<(ScalingPolicy, i32)>,
}

impl Normalized {
    fn within_range(replicas: i32) -> Self {
        Normalized {
            replicas,
            reason: "DesiredWithinRange",
            message: "the desired count is within the acceptable range",
            policy: None,
        }
    }
}

/// `convertDesiredReplicasWithBehaviorRate`.
fn convert_with_behavior_rate(
    b: &Behavior,
    state: &HpaState,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    now: SimTime,
) -> Normalized {
    if desired > current {
        let limit = scale_up_limit(current, state, &b.scale_up, now);
        // Never below current: further scale-ups wait for old events to age.
        let cap = limit.replicas.max(current);
        let n = if max > cap {
            Normalized {
                replicas: cap,
                reason: "ScaleUpLimit",
                message: "the desired replica count is increasing faster than the maximum scale rate",
                policy: limit.policy,
            }
        } else {
            Normalized {
                replicas: max,
                reason: "TooManyReplicas",
                message: "the desired replica count is more than the maximum replica count",
                policy: None,
            }
        };
        if desired > n.replicas {
            return n;
        }
    } else if desired < current {
        let limit = scale_down_limit(current, state, &b.scale_down, now);
        let floor = limit.replicas.min(current);
        let n = if min < floor {
            Normalized {
                replicas: floor,
                reason: "ScaleDownLimit",
                message: "the desired replica count is decreasing faster than the maximum scale rate",
                policy: limit.policy,
            }
        } else {
            Normalized {
                replicas: min,
                reason: "TooFewReplicas",
                message: "the desired replica count is less than the minimum replica count",
                policy: None,
            }
        };
        if desired < n.replicas {
            return n;
        }
    }
    Normalized::within_range(desired)
}

/// `convertDesiredReplicasWithRules` (no behavior): scale-ups capped at
/// `max(2 * current, 4)` per sync.
fn convert_with_rules(current: i32, desired: i32, min: i32, max: i32) -> Normalized {
    let scale_up_limit = (2.0 * f64::from(current)).max(4.0) as i32;
    let cap = if max > scale_up_limit {
        Normalized {
            replicas: scale_up_limit,
            reason: "ScaleUpLimit",
            message: "the desired replica count is increasing faster than the maximum scale rate",
            policy: None,
        }
    } else {
        Normalized {
            replicas: max,
            reason: "TooManyReplicas",
            message: "the desired replica count is more than the maximum replica count",
            policy: None,
        }
    };
    if desired < min {
        return Normalized {
            replicas: min,
            reason: "TooFewReplicas",
            message: "the desired replica count is less than the minimum replica count",
            policy: None,
        };
    }
    if desired > cap.replicas {
        return cap;
    }
    Normalized::within_range(desired)
}

/// `normalizeDesiredReplicas[WithBehaviors]`: stabilization, then the rate
/// limits and the min/max clamp; fills `stabilized`, `desired_replicas`,
/// `limited_by` and the AbleToScale/ScalingLimited conditions.
fn normalize(
    d: &mut Decision,
    spec: &HpaSpec,
    behavior: Option<&Behavior>,
    cfg: &HpaConfig,
    state: &mut HpaState,
    now: SimTime,
) {
    let (current, desired) = (d.current_replicas, d.recommendation);
    let (min, max) = (spec.min_replicas, spec.max_replicas);
    let (stabilized, reason, message) = match behavior {
        Some(b) => state.stabilize_with_behaviors(b, current, desired, now),
        None => (
            state.stabilize_legacy(desired, cfg.downscale_stabilization, now),
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        ),
    };
    if stabilized != desired {
        set_condition(
            &mut d.conditions,
            ConditionType::AbleToScale,
            true,
            reason,
            message,
        );
    } else {
        set_condition(
            &mut d.conditions,
            ConditionType::AbleToScale,
            true,
            "ReadyForNewScale",
            "recommended size matches current size",
        );
    }
    let n = match behavior {
        Some(b) => convert_with_behavior_rate(b, state, current, stabilized, min, max, now),
        None => convert_with_rules(current, stabilized, min, max),
    };
    let limited = n.replicas != stabilized;
    set_condition(
        &mut d.conditions,
        ConditionType::ScalingLimited,
        limited,
        n.reason,
        n.message,
    );
    d.stabilized = stabilized;
    d.desired_replicas = n.replicas;
    d.limited_by = limited.then(|| match n.policy {
        Some((p, start)) => format!(
            "{}: {} (policy {p} from {start} replicas at the period start)",
            n.reason, n.message
        ),
        None => format!("{}: {}", n.reason, n.message),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: SimTime = SimTime(3_600_000);

    fn secs(s: u64) -> SimDuration {
        SimDuration::from_secs(s)
    }

    /// `s` seconds before T0.
    fn ago(s: u64) -> SimTime {
        SimTime(T0.0 - s * 1000)
    }

    /// A pod started an hour before T0, ready since, with a fresh CPU sample of
    /// `cpu_m` millicores against a 1000m request and 1 GiB of memory.
    fn pod(i: usize, cpu_m: f64) -> PodMetrics {
        PodMetrics {
            name: format!("web-{i:03}"),
            count: 1,
            phase_failed: false,
            deleting: false,
            ready: true,
            start_time: SimTime::ZERO,
            last_ready_transition: Some(SimTime(10_000)),
            cpu_request_m: Some(1000),
            memory_request: Some(1 << 30),
            sample: Some(Sample {
                timestamp: SimTime(T0.0 - 5_000),
                window: secs(15),
                cpu_m,
                memory: 0.5 * f64::from(1 << 30),
            }),
        }
    }

    fn pods(n: usize, cpu_m: f64) -> Vec<PodMetrics> {
        (0..n).map(|i| pod(i, cpu_m)).collect()
    }

    fn cpu(target: i32) -> MetricSpec {
        MetricSpec {
            resource: ResourceName::Cpu,
            target: MetricTarget::Utilization(target),
        }
    }

    fn spec(min: i32, max: i32) -> HpaSpec {
        HpaSpec {
            min_replicas: min,
            max_replicas: max,
            metrics: vec![cpu(50)],
            behavior: Behavior::default(),
        }
    }

    /// No stabilization in either direction, so rate policies show alone.
    fn no_windows(mut s: HpaSpec) -> HpaSpec {
        s.behavior.scale_down.stabilization_window_seconds = 0;
        s
    }

    fn run(s: &HpaSpec, state: &mut HpaState, current: i32, p: &[PodMetrics]) -> Decision {
        reconcile(s, &HpaConfig::default(), state, current, p, T0)
    }

    fn at(t: SimTime, mut p: Vec<PodMetrics>) -> Vec<PodMetrics> {
        for x in &mut p {
            if let Some(s) = &mut x.sample {
                s.timestamp = SimTime(t.0 - 5_000);
            }
        }
        p
    }

    #[test]
    fn tolerance_holds_a_ratio_within_ten_percent() {
        // 540m of 1000m is 54 % against 50 %: ratio 1.08.
        let d = run(&spec(1, 10), &mut HpaState::new(), 4, &pods(4, 540.0));
        assert_eq!(d.metrics[0].current_utilization, Some(54));
        assert_eq!(d.recommendation, 4);
        assert_eq!(d.desired_replicas, 4);
        // 560m is 56 %: ratio 1.12 leaves the band, ceil(4 * 1.12) = 5.
        let d = run(&spec(1, 10), &mut HpaState::new(), 4, &pods(4, 560.0));
        assert_eq!(d.recommendation, 5);
        assert_eq!(d.desired_replicas, 5);
    }

    #[test]
    fn tolerance_boundary_is_inclusive() {
        // 55 % against 50 % is exactly 1.1: inside [0.9, 1.1].
        let d = run(&spec(1, 10), &mut HpaState::new(), 4, &pods(4, 550.0));
        assert_eq!(d.metrics[0].ratio, Some(1.1));
        assert_eq!(d.desired_replicas, 4);
    }

    #[test]
    fn desired_is_ceil_of_ready_pods_times_ratio() {
        // docs: 200m against a 100m target doubles the replicas.
        let mut s = spec(1, 10);
        s.metrics = vec![MetricSpec {
            resource: ResourceName::Cpu,
            target: MetricTarget::AverageValue(100.0),
        }];
        let d = run(&s, &mut HpaState::new(), 3, &pods(3, 200.0));
        assert_eq!(d.metrics[0].current_average, Some(200.0));
        assert_eq!(d.recommendation, 6);
        // 90 % against 50 % over 3 pods: ceil(3 * 1.8) = ceil(5.4) = 6.
        let d = run(&spec(1, 10), &mut HpaState::new(), 3, &pods(3, 900.0));
        assert_eq!(d.recommendation, 6);
        assert_eq!(d.desired_replicas, 6);
        assert_eq!(
            d.reason,
            "New size: 6; reason: cpu resource utilization (percentage of request) above target"
        );
    }

    #[test]
    fn utilization_is_truncated_to_an_integer_percent() {
        // 3 pods at 333m, 334m, 334m: 1001 * 100 / 3000 = 33 (not 33.37).
        let mut p = pods(3, 334.0);
        p[0].sample.as_mut().unwrap().cpu_m = 333.0;
        let d = run(&spec(1, 10), &mut HpaState::new(), 3, &p);
        assert_eq!(d.metrics[0].current_utilization, Some(33));
        assert_eq!(d.metrics[0].ratio, Some(33.0 / 50.0));
        assert_eq!(d.metrics[0].current_average, Some(333.0));
    }

    #[test]
    fn default_scale_up_from_one_is_five() {
        // max(Pods: 1 + 4, Percent: ceil(1 * 2)) = 5.
        let d = run(&spec(1, 100), &mut HpaState::new(), 1, &pods(1, 5000.0));
        assert_eq!(d.recommendation, 10);
        assert_eq!(d.desired_replicas, 5);
        let limit = d.limited_by.unwrap();
        assert!(limit.starts_with("ScaleUpLimit: the desired replica count is increasing faster"));
        assert!(
            limit.contains("policy Pods 4/15s from 1 replicas"),
            "{limit}"
        );
    }

    #[test]
    fn default_scale_up_from_ten_is_twenty() {
        // max(10 + 4, ceil(10 * 2)) = 20.
        let d = run(&spec(1, 100), &mut HpaState::new(), 10, &pods(10, 5000.0));
        assert_eq!(d.recommendation, 100);
        assert_eq!(d.desired_replicas, 20);
        assert!(d.limited_by.unwrap().contains("policy Percent 100%/15s"));
    }

    #[test]
    fn scale_up_without_behavior_is_capped_at_max_of_double_and_four() {
        let s = spec(1, 100);
        let d = reconcile_without_behavior(
            &s,
            &HpaConfig::default(),
            &mut HpaState::new(),
            1,
            &pods(1, 5000.0),
            T0,
        );
        assert_eq!(d.desired_replicas, 4);
        let mut state = HpaState::new();
        let d = reconcile_without_behavior(
            &s,
            &HpaConfig::default(),
            &mut state,
            10,
            &pods(10, 5000.0),
            T0,
        );
        assert_eq!(d.desired_replicas, 20);
        // No behavior: no scale events are kept.
        assert!(state.scale_up_events.is_empty());
        assert_eq!(state.last_scale_time, Some(T0));
    }

    #[test]
    fn scale_up_policy_counts_replicas_added_within_the_period() {
        let s = spec(1, 100);
        let cfg = HpaConfig::default();
        let mut state = HpaState::new();
        let d = reconcile(&s, &cfg, &mut state, 1, &pods(1, 5000.0), T0);
        assert_eq!(d.desired_replicas, 5);
        assert_eq!(state.scale_up_events.len(), 1);
        // 10 s later the period still starts at 1 replica: limit 5, no change.
        let t = T0 + secs(10);
        let d = reconcile(&s, &cfg, &mut state, 5, &at(t, pods(5, 5000.0)), t);
        assert_eq!(d.desired_replicas, 5);
        assert!(d.limited_by.unwrap().contains("from 1 replicas"));
        // At the next sync the event is exactly one period old and no longer
        // counts (After is strict): max(5 + 4, 10) = 10.
        let t = T0 + secs(15);
        let d = reconcile(&s, &cfg, &mut state, 5, &at(t, pods(5, 5000.0)), t);
        assert_eq!(d.desired_replicas, 10);
    }

    #[test]
    fn percent_scale_up_rounds_the_float_product_up() {
        // Percent 10 from 50: 50 * (1 + 0.1) = 55.00000000000001 in float64,
        // which the controller's ceil turns into 56, not 55.
        let mut s = spec(1, 200);
        s.behavior.scale_up.policies = vec![ScalingPolicy {
            kind: PolicyKind::Percent,
            value: 10,
            period_seconds: 60,
        }];
        let d = run(&s, &mut HpaState::new(), 50, &pods(50, 5000.0));
        assert_eq!(d.desired_replicas, 56);
        // From 10 the product is exactly 11.
        let d = run(&s, &mut HpaState::new(), 10, &pods(10, 5000.0));
        assert_eq!(d.desired_replicas, 11);
    }

    #[test]
    fn docs_scale_down_80_pods_by_10_percent_per_minute() {
        let mut s = no_windows(spec(1, 100));
        s.behavior.scale_down.policies = vec![ScalingPolicy {
            kind: PolicyKind::Percent,
            value: 10,
            period_seconds: 60,
        }];
        let cfg = HpaConfig::default();
        let mut state = HpaState::new();
        let mut current = 80;
        let mut seen = Vec::new();
        for sync in 0..9u64 {
            let t = T0 + secs(15 * sync);
            let d = reconcile(
                &s,
                &cfg,
                &mut state,
                current,
                &at(t, pods(current as usize, 10.0)),
                t,
            );
            current = d.desired_replicas;
            seen.push(current);
        }
        // 80 * 0.9 = 72 (8 removed); a minute later 72 * 0.9 = 64.8 -> 64
        // (7.2 rounded up to 8 removed); then 64 * 0.9 = 57.6 -> 57.
        assert_eq!(seen, vec![72, 72, 72, 72, 64, 64, 64, 64, 57]);
    }

    #[test]
    fn scale_down_is_held_for_the_300_second_window() {
        let s = spec(1, 100);
        let cfg = HpaConfig::default();
        let mut state = HpaState::new();
        // 10 % against 50 %: the metrics want 2 of 10.
        for sync in 0..20u64 {
            let t = T0 + secs(15 * sync);
            let d = reconcile(&s, &cfg, &mut state, 10, &at(t, pods(10, 100.0)), t);
            assert_eq!(d.recommendation, 2);
            assert_eq!(d.desired_replicas, 10, "sync {sync}");
            let able = &d.conditions[0];
            assert_eq!(able.reason, "ScaleDownStabilized");
        }
        // At 300 s the first sync's recommendations (the initial 10) leave the
        // window; Percent 100 / 15 s allows going straight to 2.
        let t = T0 + secs(300);
        let d = reconcile(&s, &cfg, &mut state, 10, &at(t, pods(10, 100.0)), t);
        assert_eq!(d.desired_replicas, 2);
        assert_eq!(state.last_scale_time, Some(t));
        assert_eq!(state.scale_down_events[0].replica_change, 8);
    }

    #[test]
    fn scale_down_takes_the_highest_recommendation_in_the_window() {
        let s = spec(1, 100);
        let cfg = HpaConfig::default();
        let mut state = HpaState::new();
        // Recommendations 2, 6, 3 over three syncs, current 10.
        for (i, cpu_m) in [100.0, 300.0, 150.0].into_iter().enumerate() {
            let t = T0 + secs(15 * i as u64);
            reconcile(&s, &cfg, &mut state, 10, &at(t, pods(10, cpu_m)), t);
        }
        // Past the initial recommendation (10 at T0) but within 300 s of the 6.
        let t = T0 + secs(300);
        let d = reconcile(&s, &cfg, &mut state, 10, &at(t, pods(10, 100.0)), t);
        assert_eq!(d.recommendation, 2);
        assert_eq!(d.stabilized, 6);
        assert_eq!(d.desired_replicas, 6);
    }

    #[test]
    fn scale_down_window_without_behavior_uses_the_flag() {
        let s = spec(1, 100);
        let cfg = HpaConfig::default();
        let mut state = HpaState::new();
        let mut last = 0;
        for sync in 0..=20u64 {
            let t = T0 + secs(15 * sync);
            let d =
                reconcile_without_behavior(&s, &cfg, &mut state, 10, &at(t, pods(10, 100.0)), t);
            last = d.desired_replicas;
            if sync < 20 {
                assert_eq!(last, 10, "sync {sync}");
            }
        }
        // At 300 s the initial recommendation is exactly at the cutoff, which
        // the older path still counts (it drops only samples strictly older).
        assert_eq!(last, 10);
        let t = T0 + secs(315);
        let d = reconcile_without_behavior(&s, &cfg, &mut state, 10, &at(t, pods(10, 100.0)), t);
        assert_eq!(d.desired_replicas, 2);
    }

    /// Marks `p` as started 20 s before T0 and not yet ready: inside the CPU
    /// initialization period, so its sample is set aside.
    fn warming_up(p: &mut PodMetrics) {
        p.start_time = ago(20);
        p.ready = false;
        p.last_ready_transition = Some(ago(20));
    }

    #[test]
    fn unready_pods_count_at_zero_on_a_scale_up() {
        // 3 ready pods at 100 % (ratio 2 against 50 %), 2 warming up at 100 %
        // too. Corrected: 3000m / 5000m = 60 %, ratio 1.2 over 5 pods -> 6.
        let mut p = pods(5, 1000.0);
        p[3..].iter_mut().for_each(warming_up);
        let d = run(&spec(1, 100), &mut HpaState::new(), 5, &p);
        let m = &d.metrics[0];
        assert_eq!((m.ready_pods, m.unready_pods, m.missing_pods), (3, 2, 0));
        // The status shows the uncorrected figures.
        assert_eq!(m.current_utilization, Some(100));
        assert_eq!(m.ratio, Some(2.0));
        assert_eq!(d.recommendation, 6);
    }

    #[test]
    fn unready_pods_can_cancel_a_scale_up() {
        // 2 ready pods at 100 % (ratio 2) would ask for 4; the unready pod's
        // 4000m request at 0 brings the corrected utilization to
        // 2000 / 6000 = 33 %, ratio 0.66: the direction reverses, no change.
        let mut p = pods(3, 1000.0);
        warming_up(&mut p[2]);
        p[2].cpu_request_m = Some(4000);
        let d = run(&spec(1, 100), &mut HpaState::new(), 3, &p);
        assert_eq!(d.metrics[0].ratio, Some(2.0));
        assert_eq!(d.recommendation, 3);
        assert_eq!(d.desired_replicas, 3);
    }

    #[test]
    fn unready_pods_are_ignored_on_a_scale_down() {
        // 2 ready at 10 %, 2 unready: a scale-down counts only the ready ones.
        let mut p = pods(4, 100.0);
        p[2..].iter_mut().for_each(warming_up);
        let s = no_windows(spec(1, 100));
        let d = run(&s, &mut HpaState::new(), 4, &p);
        // ratio 0.2 over 2 ready pods: ceil(0.4) = 1.
        assert_eq!(d.recommendation, 1);
    }

    #[test]
    fn missing_metrics_damp_a_scale_down() {
        // 4 pods at 10 % and 2 without samples, target 50 %: the missing pods
        // count as 100 % -> (400 + 2000) / 6000 = 40 %, ratio 0.8 over 6 pods.
        let mut p = pods(6, 100.0);
        p[4].sample = None;
        p[5].sample = None;
        let s = no_windows(spec(1, 100));
        let d = run(&s, &mut HpaState::new(), 6, &p);
        let m = &d.metrics[0];
        assert_eq!((m.ready_pods, m.missing_pods), (4, 2));
        assert_eq!(m.current_utilization, Some(10));
        assert_eq!(d.recommendation, 5); // ceil(0.8 * 6) = 4.8 -> 5
        // Without the missing pods it would have been ceil(0.2 * 4) = 1.
    }

    #[test]
    fn missing_metrics_can_reverse_a_scale_down_into_no_change() {
        // 1 pod at 40 % (ratio 0.8), 3 missing at 100 %: 340 / 400 = 85 %,
        // ratio 1.7 reverses direction -> no change.
        let mut p = pods(4, 400.0);
        for x in &mut p[1..] {
            x.sample = None;
        }
        let d = run(&no_windows(spec(1, 100)), &mut HpaState::new(), 4, &p);
        assert_eq!(d.recommendation, 4);
    }

    #[test]
    fn missing_pods_count_at_the_target_when_it_exceeds_100_percent() {
        // Target 200 %: 2 pods at 100 % (ratio 0.5), 2 missing counted at
        // 200 % -> 600 / 4 = 150 %, ratio 0.75 over 4 -> 3.
        let mut s = no_windows(spec(1, 100));
        s.metrics = vec![cpu(200)];
        let mut p = pods(4, 1000.0);
        p[2].sample = None;
        p[3].sample = None;
        let d = run(&s, &mut HpaState::new(), 4, &p);
        assert_eq!(d.recommendation, 3);
    }

    #[test]
    fn missing_metrics_damp_a_scale_up() {
        // 2 pods at 100 % (ratio 2), 2 missing at 0: 50 %... ratio 1.0 is in
        // tolerance -> no change.
        let mut p = pods(4, 1000.0);
        p[2].sample = None;
        p[3].sample = None;
        let d = run(&spec(1, 100), &mut HpaState::new(), 4, &p);
        assert_eq!(d.recommendation, 4);
        // 3 at 100 %, 1 missing: 75 %, ratio 1.5 over 4 -> 6.
        let mut p = pods(4, 1000.0);
        p[3].sample = None;
        let d = run(&spec(1, 100), &mut HpaState::new(), 4, &p);
        assert_eq!(d.recommendation, 6);
    }

    #[test]
    fn cpu_sample_from_before_a_full_window_of_readiness_is_set_aside() {
        // Started 60 s ago, ready 10 s ago, sample 5 s old with a 15 s window:
        // it partly predates readiness.
        let mut p = pods(3, 1000.0);
        p[2].start_time = ago(60);
        p[2].last_ready_transition = Some(ago(10));
        let d = run(&spec(1, 100), &mut HpaState::new(), 3, &p);
        assert_eq!(d.metrics[0].unready_pods, 1);
        // Memory has no such rule.
        let mut s = spec(1, 100);
        s.metrics = vec![MetricSpec {
            resource: ResourceName::Memory,
            target: MetricTarget::Utilization(50),
        }];
        let d = run(&s, &mut HpaState::new(), 3, &p);
        assert_eq!(d.metrics[0].unready_pods, 0);
        assert_eq!(d.metrics[0].current_utilization, Some(50));
    }

    #[test]
    fn cpu_pod_past_initialization_that_was_never_ready_is_set_aside() {
        let mut p = pods(3, 1000.0);
        // Started 10 min ago, unready since 20 s after start: never ready.
        p[1].start_time = ago(600);
        p[1].ready = false;
        p[1].last_ready_transition = Some(ago(580));
        // Started 10 min ago, became unready 5 min later: it was ready once,
        // so its sample counts.
        p[2].start_time = ago(600);
        p[2].ready = false;
        p[2].last_ready_transition = Some(ago(300));
        let d = run(&spec(1, 100), &mut HpaState::new(), 3, &p);
        assert_eq!(d.metrics[0].unready_pods, 1);
        assert_eq!(d.metrics[0].ready_pods, 2);
    }

    #[test]
    fn pending_deleting_and_failed_pods_are_set_aside() {
        let mut p = pods(5, 100.0);
        p[1].deleting = true;
        p[2].phase_failed = true;
        p[3].last_ready_transition = None; // Pending
        p[3].sample = None;
        let d = run(&no_windows(spec(1, 100)), &mut HpaState::new(), 5, &p);
        let m = &d.metrics[0];
        assert_eq!(
            (m.ready_pods, m.ignored_pods, m.unready_pods, m.missing_pods),
            (2, 2, 1, 0)
        );
        // Pending is not missing: a scale-down ignores it. ratio 0.2 over 2.
        assert_eq!(d.recommendation, 1);
    }

    #[test]
    fn missing_request_fails_the_metric_and_prevents_scaling() {
        let mut p = pods(3, 900.0);
        p[2].cpu_request_m = None;
        p[2].deleting = true; // even an ignored pod's request is required
        let mut state = HpaState::new();
        let d = run(&spec(1, 100), &mut state, 3, &p);
        assert!(!d.active);
        assert_eq!(d.desired_replicas, 3);
        assert_eq!(
            d.metrics[0].error.as_deref(),
            Some("missing request for cpu in a container of Pod web-002")
        );
        let active = d
            .conditions
            .iter()
            .find(|c| c.kind == ConditionType::ScalingActive)
            .unwrap();
        assert_eq!(active.reason, "FailedGetResourceMetric");
        assert_eq!(
            active.message,
            "the HPA was unable to compute the replica count: failed to get cpu utilization: \
             missing request for cpu in a container of Pod web-002"
        );
        assert!(
            d.reason
                .starts_with("invalid metrics (1 invalid out of 1), first error is: ")
        );
        assert_eq!(state.last_scale_time, None);
    }

    #[test]
    fn no_pods_and_no_samples_are_errors() {
        let d = run(&spec(1, 100), &mut HpaState::new(), 3, &[]);
        assert_eq!(
            d.metrics[0].error.as_deref(),
            Some("no pods returned by selector while calculating replica count")
        );
        let mut p = pods(2, 100.0);
        for x in &mut p {
            x.sample = None;
        }
        let d = run(&spec(1, 100), &mut HpaState::new(), 2, &p);
        assert_eq!(
            d.metrics[0].error.as_deref(),
            Some("did not receive metrics for targeted pods (pods might be unready)")
        );
        assert!(!d.active);
    }

    #[test]
    fn select_policy_min_takes_the_smaller_scale_up() {
        // min(10 + 4, 20) = 14.
        let mut s = spec(1, 100);
        s.behavior.scale_up.select_policy = SelectPolicy::Min;
        let d = run(&s, &mut HpaState::new(), 10, &pods(10, 5000.0));
        assert_eq!(d.desired_replicas, 14);
        assert!(d.limited_by.unwrap().contains("policy Pods 4/15s"));
    }

    #[test]
    fn select_policy_min_takes_the_smaller_scale_down() {
        // Pods 2 -> 8, Percent 50 -> 5: Min keeps the higher floor, 8.
        let mut s = no_windows(spec(1, 100));
        s.behavior.scale_down.select_policy = SelectPolicy::Min;
        s.behavior.scale_down.policies = vec![
            ScalingPolicy {
                kind: PolicyKind::Pods,
                value: 2,
                period_seconds: 60,
            },
            ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 50,
                period_seconds: 60,
            },
        ];
        let d = run(&s, &mut HpaState::new(), 10, &pods(10, 10.0));
        assert_eq!(d.desired_replicas, 8);
        s.behavior.scale_down.select_policy = SelectPolicy::Max;
        let d = run(&s, &mut HpaState::new(), 10, &pods(10, 10.0));
        assert_eq!(d.desired_replicas, 5);
    }

    #[test]
    fn select_policy_disabled_blocks_the_direction() {
        let mut s = no_windows(spec(1, 100));
        s.behavior.scale_down.select_policy = SelectPolicy::Disabled;
        let d = run(&s, &mut HpaState::new(), 10, &pods(10, 10.0));
        assert_eq!(d.desired_replicas, 10);
        assert!(d.limited_by.unwrap().starts_with("ScaleDownLimit: "));
        assert!(d.reason.starts_with("Decided not to scale: ScaleDownLimit"));
        // Scale-up still works.
        let d = run(&s, &mut HpaState::new(), 10, &pods(10, 600.0));
        assert_eq!(d.desired_replicas, 12);
        s.behavior.scale_up.select_policy = SelectPolicy::Disabled;
        let d = run(&s, &mut HpaState::new(), 10, &pods(10, 600.0));
        assert_eq!(d.desired_replicas, 10);
    }

    #[test]
    fn max_and_min_replicas_clamp_the_result() {
        let d = run(&spec(1, 8), &mut HpaState::new(), 5, &pods(5, 2000.0));
        assert_eq!(d.desired_replicas, 8);
        assert_eq!(
            d.limited_by.as_deref(),
            Some(
                "TooManyReplicas: the desired replica count is more than the maximum replica count"
            )
        );
        let d = run(
            &no_windows(spec(3, 8)),
            &mut HpaState::new(),
            5,
            &pods(5, 10.0),
        );
        assert_eq!(d.desired_replicas, 3);
        assert_eq!(
            d.limited_by.as_deref(),
            Some(
                "TooFewReplicas: the desired replica count is less than the minimum replica count"
            )
        );
    }

    #[test]
    fn replicas_outside_min_max_are_brought_in_without_metrics() {
        let mut state = HpaState::new();
        let d = run(&spec(2, 6), &mut state, 9, &[]);
        assert_eq!(d.desired_replicas, 6);
        assert!(d.metrics.is_empty());
        assert_eq!(
            d.reason,
            "New size: 6; reason: Current number of replicas above Spec.MaxReplicas"
        );
        assert_eq!(state.scale_down_events[0].replica_change, 3);
        let d = run(&spec(2, 6), &mut HpaState::new(), 1, &[]);
        assert_eq!(d.desired_replicas, 2);
    }

    #[test]
    fn several_metrics_take_the_largest_proposal() {
        let mut s = spec(1, 100);
        s.metrics = vec![
            cpu(50),
            MetricSpec {
                resource: ResourceName::Memory,
                target: MetricTarget::Utilization(25),
            },
        ];
        // CPU at 60 % -> ratio 1.2 -> 5 of 4; memory at 50 % of 25 % -> 8.
        let d = run(&s, &mut HpaState::new(), 4, &pods(4, 600.0));
        assert_eq!(d.metrics[0].replicas, Some(5));
        assert_eq!(d.metrics[1].replicas, Some(8));
        assert_eq!(d.recommendation, 8);
        assert!(
            d.reason
                .ends_with("memory resource utilization (percentage of request) above target")
        );
    }

    #[test]
    fn an_invalid_metric_blocks_a_scale_down_but_not_a_scale_up() {
        let mut s = no_windows(spec(1, 100));
        s.metrics = vec![
            cpu(50),
            MetricSpec {
                resource: ResourceName::Memory,
                target: MetricTarget::Utilization(50),
            },
        ];
        let mut p = pods(4, 100.0);
        p[0].memory_request = None;
        let d = run(&s, &mut HpaState::new(), 4, &p);
        assert_eq!(d.metrics[0].replicas, Some(1));
        assert!(!d.active);
        assert_eq!(d.desired_replicas, 4);
        let mut p = pods(4, 900.0);
        p[0].memory_request = None;
        let d = run(&s, &mut HpaState::new(), 4, &p);
        assert!(d.active);
        assert_eq!(d.desired_replicas, 8);
    }

    #[test]
    fn zero_replicas_with_min_above_zero_is_inactive() {
        let mut state = HpaState::new();
        let d = run(&spec(1, 10), &mut state, 0, &[]);
        assert!(!d.active);
        assert_eq!(d.desired_replicas, 0);
        let c = d
            .conditions
            .iter()
            .find(|c| c.kind == ConditionType::ScalingActive)
            .unwrap();
        assert_eq!((c.status, c.reason.as_str()), (false, "ScalingDisabled"));
        assert_eq!(state.last_scale_time, None);
    }

    #[test]
    fn first_sync_does_not_scale_down_a_fresh_controller() {
        // The initial recommendation (current replicas) sits in the window.
        let d = run(&spec(1, 100), &mut HpaState::new(), 10, &pods(10, 10.0));
        assert_eq!(d.recommendation, 1);
        assert_eq!(d.desired_replicas, 10);
    }

    #[test]
    fn spec_validation_names_the_field() {
        assert_eq!(validate(&spec(1, 10)), Ok(()));
        assert_eq!(validate(&spec(0, 10)), Err(HpaSpecError::MinReplicas));
        assert_eq!(validate(&spec(5, 4)), Err(HpaSpecError::MaxReplicas));
        let mut s = spec(1, 10);
        s.behavior.scale_up.policies[1].period_seconds = 1801;
        assert_eq!(
            validate(&s).unwrap_err().to_string(),
            "spec.behavior.scaleUp.policies[1].periodSeconds: must be greater than zero and less than or equal to 1800"
        );
    }

    // -- properties ---------------------------------------------------------

    fn arb_spec() -> impl Strategy<Value = HpaSpec> {
        (1i32..5, 0i32..30, 10i32..150, any::<bool>(), 0i32..3).prop_map(
            |(min, extra, target, memory, select)| {
                let mut s = spec(min, min + extra);
                s.metrics = vec![cpu(target)];
                if memory {
                    s.metrics.push(MetricSpec {
                        resource: ResourceName::Memory,
                        target: MetricTarget::AverageValue(400e6),
                    });
                }
                s.behavior.scale_down.select_policy =
                    [SelectPolicy::Max, SelectPolicy::Min, SelectPolicy::Disabled][select as usize];
                s.behavior.scale_down.stabilization_window_seconds = 30 * select;
                s
            },
        )
    }

    /// A pod with random readiness, sample, and age.
    fn arb_pod() -> impl Strategy<Value = (u8, f64, u64, bool, bool)> {
        (
            0u8..8,
            0.0f64..3000.0,
            0u64..900,
            any::<bool>(),
            any::<bool>(),
        )
    }

    fn make_pod(
        i: usize,
        (kind, cpu_m, age_s, ready, has_sample): (u8, f64, u64, bool, bool),
    ) -> PodMetrics {
        let mut p = pod(i, cpu_m);
        p.start_time = ago(age_s);
        p.ready = ready;
        p.last_ready_transition = Some(ago(age_s / 2));
        if !has_sample {
            p.sample = None;
        }
        match kind {
            0 => p.deleting = true,
            1 => p.phase_failed = true,
            2 => p.last_ready_transition = None,
            _ => {}
        }
        if let Some(s) = &mut p.sample {
            s.memory = cpu_m * 300e3;
        }
        p
    }

    proptest! {
        #[test]
        fn desired_stays_within_min_and_max_when_active(
            s in arb_spec(),
            current in 0i32..40,
            raw in proptest::collection::vec(arb_pod(), 0..20),
            syncs in 1usize..4,
        ) {
            let cfg = HpaConfig::default();
            let mut state = HpaState::new();
            let mut current = current;
            for k in 0..syncs {
                let t = T0 + secs(15 * k as u64);
                let p: Vec<_> = raw.iter().enumerate().map(|(i, r)| make_pod(i, *r)).collect();
                let d = reconcile(&s, &cfg, &mut state, current, &p, t);
                if d.active {
                    prop_assert!(d.desired_replicas >= s.min_replicas, "{d:?}");
                    prop_assert!(d.desired_replicas <= s.max_replicas, "{d:?}");
                } else {
                    prop_assert_eq!(d.desired_replicas, current);
                }
                current = d.desired_replicas;
            }
        }

        #[test]
        fn no_change_while_every_pod_is_within_tolerance(
            target in 50i32..200,
            n in 1usize..30,
            offsets in proptest::collection::vec(-5i32..=5, 30),
            syncs in 1usize..6,
        ) {
            // Every ready pod at target +- 5 % (of the target): the average
            // utilization, truncated to a percent, stays within 10 % of it.
            let mut s = spec(1, 100);
            s.metrics = vec![cpu(target)];
            let cfg = HpaConfig::default();
            let mut state = HpaState::new();
            let current = n as i32;
            for k in 0..syncs {
                let t = T0 + secs(15 * k as u64);
                let p: Vec<_> = (0..n).map(|i| {
                    let pct = f64::from(target) * (1.0 + f64::from(offsets[i]) / 100.0);
                    let mut x = pod(i, (pct * 10.0).floor());
                    x.sample.as_mut().unwrap().timestamp = SimTime(t.0 - 5_000);
                    x
                }).collect();
                let d = reconcile(&s, &cfg, &mut state, current, &p, t);
                prop_assert_eq!(d.desired_replicas, current, "{:?}", d);
            }
        }

        #[test]
        fn classes_of_alike_pods_decide_as_the_pods_one_by_one(
            s in arb_spec(),
            current in 1i32..40,
            // Few distinct pods, repeated: runs of equal pods get merged.
            kinds in proptest::collection::vec(arb_pod(), 1..5),
            picks in proptest::collection::vec((0usize..5, 1usize..6), 1..12),
            behavior in any::<bool>(),
        ) {
            let cfg = HpaConfig::default();
            let mut p = Vec::new();
            for (k, run) in picks {
                for _ in 0..run {
                    let i = p.len();
                    p.push(make_pod(i, kinds[k % kinds.len()]));
                }
            }
            let (mut a, mut b) = (HpaState::new(), HpaState::new());
            let (mut ca, mut cb) = (current, current);
            let decide = if behavior { reconcile } else { reconcile_without_behavior };
            for k in 0..3u64 {
                let t = T0 + secs(100 * k);
                let mut classes = Vec::new();
                for x in &p {
                    let mut v = x.clone();
                    v.settle(&cfg, t);
                    add_to_classes(&mut classes, v, || x.name.clone());
                }
                prop_assert_eq!(classes.iter().map(|c| c.count as usize).sum::<usize>(), p.len());
                let da = decide(&s, &cfg, &mut a, ca, &p, t);
                let db = decide(&s, &cfg, &mut b, cb, &classes, t);
                prop_assert_eq!(&da, &db);
                prop_assert_eq!(&a, &b);
                ca = da.desired_replicas;
                cb = db.desired_replicas;
            }
        }

        #[test]
        fn settled_pods_of_one_state_share_one_entry(n in 1usize..200, cpu_m in 0.0f64..2000.0) {
            let cfg = HpaConfig::default();
            let mut classes = Vec::new();
            for i in 0..n {
                // Started at different times, all past the initialization period.
                let mut x = pod(i, cpu_m);
                x.start_time = SimTime(i as u64 * 20);
                x.last_ready_transition = Some(SimTime(30_000 + i as u64 * 20));
                x.settle(&cfg, T0);
                add_to_classes(&mut classes, x, || format!("web-{i:03}"));
            }
            prop_assert_eq!(classes.len(), 1);
            prop_assert_eq!(classes[0].count as usize, n);
            prop_assert_eq!(classes[0].name.as_str(), "web-000");
        }

        #[test]
        fn decision_does_not_depend_on_pod_order(
            s in arb_spec(),
            current in 1i32..40,
            raw in proptest::collection::vec(arb_pod(), 1..20),
            seed in any::<u64>(),
        ) {
            let p: Vec<_> = raw.iter().enumerate().map(|(i, r)| make_pod(i, *r)).collect();
            let mut shuffled = p.clone();
            // A deterministic permutation from the seed (Fisher-Yates on an LCG).
            let mut x = seed;
            for i in (1..shuffled.len()).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (x >> 33) as usize % (i + 1));
            }
            let cfg = HpaConfig::default();
            let (mut a, mut b) = (HpaState::new(), HpaState::new());
            let da = reconcile(&s, &cfg, &mut a, current, &p, T0);
            let db = reconcile(&s, &cfg, &mut b, current, &shuffled, T0);
            prop_assert_eq!(da, db);
            prop_assert_eq!(a, b);
        }
    }
}
