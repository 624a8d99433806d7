//! Work requests in virtual time, shared by every asynchronous service.
//!
//! A work request is ACCEPTED when submitted, IN_PROGRESS after the
//! `workrequest.accept` delay, and SUCCEEDED or FAILED when its duration has
//! passed: then its completion runs against the twin (the model change
//! happens at that virtual instant) and decides the outcome. Resources show
//! `IN_PROGRESS` while it runs and their final action (CREATED, DELETED, ...)
//! after. `percentComplete` grows linearly over the running phase.
//!
//! Services render a work request in their own wire shape; [`render_status_style`]
//! is the shape Identity, Core, OKE and MySQL share (`status`, `operationType`,
//! `resources[]`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::error::ApiError;
use super::state::Twin;
use super::wire::{ApiResult, Params, Reply, paginate, rfc3339};
use crate::kernel::{SimDuration, SimTime};

/// Status of a work request, in OCI's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrStatus {
    /// Submitted, not started.
    Accepted,
    /// Running.
    InProgress,
    /// Done.
    Succeeded,
    /// Done with errors.
    Failed,
    /// A cancellation was asked for; the model change will not happen.
    Canceling,
    /// Canceled: the completion never ran.
    Canceled,
}

impl WrStatus {
    /// `ACCEPTED`, `IN_PROGRESS`, `SUCCEEDED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            WrStatus::Accepted => "ACCEPTED",
            WrStatus::InProgress => "IN_PROGRESS",
            WrStatus::Succeeded => "SUCCEEDED",
            WrStatus::Failed => "FAILED",
            WrStatus::Canceling => "CANCELING",
            WrStatus::Canceled => "CANCELED",
        }
    }

    /// True once nothing more will happen to the work request.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            WrStatus::Succeeded | WrStatus::Failed | WrStatus::Canceled
        )
    }
}

/// A resource a work request acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrResource {
    /// `entityType` (`cluster`, `virtualnodepool`, `compartment`, ...).
    pub entity_type: String,
    /// The action once done: `CREATED`, `UPDATED`, `DELETED` or `RELATED`.
    pub action_type: String,
    /// The resource's OCID.
    pub identifier: String,
    /// `entityUri`, e.g. `/clusters/<id>`.
    pub entity_uri: String,
}

/// One error of a failed work request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrError {
    /// Error code.
    pub code: String,
    /// Message.
    pub message: String,
    /// When.
    pub timestamp: SimTime,
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrLog {
    /// Message.
    pub message: String,
    /// When.
    pub timestamp: SimTime,
}

/// Why a completion failed: the error recorded on the work request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrFailure {
    /// Error code (`InternalError`, `LimitExceeded`, ...).
    pub code: String,
    /// Message.
    pub message: String,
}

impl From<ApiError> for WrFailure {
    fn from(e: ApiError) -> WrFailure {
        WrFailure {
            code: e.code,
            message: e.message,
        }
    }
}

/// What runs when a work request's duration is over: the model change. An
/// `Err` marks the work request FAILED with that error.
pub type Completion = Box<dyn FnOnce(&mut Twin) -> Result<(), WrFailure> + Send>;

/// A work request.
#[derive(Clone, Debug)]
pub struct WorkRequest {
    /// Its OCID.
    pub id: String,
    /// The service that owns it (`identity`, `core`, `oke`, `mysql`, `lb`, `vaults`).
    pub service: &'static str,
    /// `operationType` (`DELETE_COMPARTMENT`, `CLUSTER_CREATE`, ...).
    pub operation_type: String,
    /// The compartment it was issued in.
    pub compartment_id: String,
    /// Resources acted on.
    pub resources: Vec<WrResource>,
    /// Status.
    pub status: WrStatus,
    /// Submitted at.
    pub time_accepted: SimTime,
    /// Started at (IN_PROGRESS), once it has.
    pub time_started: Option<SimTime>,
    /// Finished at, once it has.
    pub time_finished: Option<SimTime>,
    /// When it will start and finish.
    pub starts_at: SimTime,
    /// When it will finish.
    pub finishes_at: SimTime,
    /// Errors (FAILED only).
    pub errors: Vec<WrError>,
    /// Log lines.
    pub logs: Vec<WrLog>,
    /// `percentComplete` frozen when a cancellation was asked for.
    pub percent_at_cancel: f64,
}

/// The `actionType` a resource shows once its work request is CANCELED
/// (`CANCELED_CREATE`, `CANCELED_UPDATE`, `CANCELED_DELETE`; others stay).
fn canceled_action(done: &str) -> &str {
    match done {
        "CREATED" => "CANCELED_CREATE",
        "UPDATED" => "CANCELED_UPDATE",
        "DELETED" => "CANCELED_DELETE",
        other => other,
    }
}

/// What a cancellation does to the resources of the work request (the
/// service decides, e.g. a resource being updated goes back to ACTIVE).
pub type OnCancel = Box<dyn FnOnce(&mut Twin, &WorkRequest) + Send>;

impl WorkRequest {
    /// Percent complete at `now`: 0 while accepted, linear while running, 100 when done.
    pub fn percent_complete(&self, now: SimTime) -> f64 {
        match self.status {
            WrStatus::Accepted => 0.0,
            WrStatus::Succeeded | WrStatus::Failed | WrStatus::Canceled => 100.0,
            WrStatus::Canceling => self.percent_at_cancel,
            WrStatus::InProgress => {
                let total = self.finishes_at.since(self.starts_at).as_ms().max(1) as f64;
                let done = now.since(self.starts_at).as_ms() as f64;
                (done / total * 100.0).clamp(0.0, 99.0).floor()
            }
        }
    }

    /// The `actionType` a resource shows now.
    fn action_now(&self, r: &WrResource) -> String {
        match self.status {
            WrStatus::Succeeded => r.action_type.clone(),
            WrStatus::Failed => "FAILED".into(),
            WrStatus::Canceled => canceled_action(&r.action_type).into(),
            _ => "IN_PROGRESS".into(),
        }
    }
}

/// What a service asks for when it submits a work request.
#[derive(Clone, Debug)]
pub struct WorkRequestSpec {
    /// Owning service (see [`WorkRequest::service`]).
    pub service: &'static str,
    /// The OCID type of the work request (`clustersworkrequest`, ...).
    pub ocid_type: &'static str,
    /// `operationType`.
    pub operation_type: String,
    /// Compartment.
    pub compartment_id: String,
    /// Resources acted on.
    pub resources: Vec<WrResource>,
    /// How long the running phase lasts.
    pub duration: SimDuration,
}

/// Every work request, by OCID.
#[derive(Clone, Debug, Default)]
pub struct WorkRequests {
    by_id: BTreeMap<String, WorkRequest>,
}

impl WorkRequests {
    /// The work request with this OCID.
    pub fn get(&self, id: &str) -> Option<&WorkRequest> {
        self.by_id.get(id)
    }

    /// The work request with this OCID owned by one of `services`, else 404.
    pub fn get_for(&self, id: &str, services: &[&str]) -> Result<&WorkRequest, ApiError> {
        self.by_id
            .get(id)
            .filter(|w| services.contains(&w.service))
            .ok_or_else(|| ApiError::not_found("work request", id))
    }

    /// Every work request of `service`, in submission order (by time, then OCID).
    pub fn of_service<'a>(&'a self, services: &'a [&'a str]) -> Vec<&'a WorkRequest> {
        let mut v: Vec<&WorkRequest> = self
            .by_id
            .values()
            .filter(|w| services.contains(&w.service))
            .collect();
        v.sort_by(|a, b| (a.time_accepted, &a.id).cmp(&(b.time_accepted, &b.id)));
        v
    }

    fn get_mut(&mut self, id: &str) -> &mut WorkRequest {
        self.by_id
            .get_mut(id)
            .expect("a timer names a known work request")
    }
}

impl Twin {
    /// Submits a work request: ACCEPTED now, IN_PROGRESS after the
    /// `workrequest.accept` delay, done after `spec.duration` more, when
    /// `complete` runs. Returns its OCID.
    pub fn submit_work_request(&mut self, spec: WorkRequestSpec, complete: Completion) -> String {
        let now = self.now;
        let id = self.world.mint.regional(spec.ocid_type);
        let accept = self
            .durations
            .get_or("workrequest.accept", SimDuration::from_secs(1));
        let starts_at = now + accept;
        let finishes_at = starts_at + spec.duration;
        let wr = WorkRequest {
            id: id.clone(),
            service: spec.service,
            operation_type: spec.operation_type.clone(),
            compartment_id: spec.compartment_id,
            resources: spec.resources,
            status: WrStatus::Accepted,
            time_accepted: now,
            time_started: None,
            time_finished: None,
            starts_at,
            finishes_at,
            errors: Vec::new(),
            logs: vec![WrLog {
                message: format!("{} accepted", spec.operation_type),
                timestamp: now,
            }],
            percent_at_cancel: 0.0,
        };
        self.work_requests.by_id.insert(id.clone(), wr);
        let wid = id.clone();
        self.at(starts_at, move |t| {
            let now = t.now;
            let w = t.work_requests.get_mut(&wid);
            if w.status != WrStatus::Accepted {
                return;
            }
            w.status = WrStatus::InProgress;
            w.time_started = Some(now);
            w.logs.push(WrLog {
                message: format!("{} started", w.operation_type),
                timestamp: now,
            });
        });
        let wid = id.clone();
        self.at(finishes_at, move |t| {
            if t.work_requests.get_mut(&wid).status != WrStatus::InProgress {
                return;
            }
            let outcome = complete(t);
            let now = t.now;
            let w = t.work_requests.get_mut(&wid);
            w.time_finished = Some(now);
            match outcome {
                Ok(()) => {
                    w.status = WrStatus::Succeeded;
                    w.logs.push(WrLog {
                        message: format!("{} succeeded", w.operation_type),
                        timestamp: now,
                    });
                }
                Err(f) => {
                    w.status = WrStatus::Failed;
                    w.logs.push(WrLog {
                        message: format!("{} failed: {}", w.operation_type, f.message),
                        timestamp: now,
                    });
                    w.errors.push(WrError {
                        code: f.code,
                        message: f.message,
                        timestamp: now,
                    });
                }
            }
        });
        id
    }

    /// Cancels a work request of one of `services` that has not started
    /// (OKE's DeleteWorkRequest: "Cancel a work request that has not
    /// started"): CANCELING now, CANCELED after the `workrequest.cancel`
    /// delay (default 1 s), when `on_cancel` runs; its completion never
    /// does. 404 if unknown, 409 Conflict once it has started or finished.
    pub fn cancel_work_request(
        &mut self,
        id: &str,
        services: &[&str],
        on_cancel: OnCancel,
    ) -> Result<(), ApiError> {
        let now = self.now;
        let w = self.work_requests.get_for(id, services)?;
        if w.status != WrStatus::Accepted {
            return Err(ApiError::conflict(format!(
                "work request {id} is {} and can no longer be canceled: only a work request that has not started can be",
                w.status.as_str()
            )));
        }
        let w = self.work_requests.get_mut(id);
        w.percent_at_cancel = w.percent_complete(now);
        w.status = WrStatus::Canceling;
        w.logs.push(WrLog {
            message: format!("{} canceling", w.operation_type),
            timestamp: now,
        });
        let d = self
            .durations
            .get_or("workrequest.cancel", SimDuration::from_secs(1));
        let wid = id.to_string();
        self.after(d, move |t| {
            let now = t.now;
            let w = t.work_requests.get_mut(&wid);
            w.status = WrStatus::Canceled;
            w.time_finished = Some(now);
            w.logs.push(WrLog {
                message: format!("{} canceled", w.operation_type),
                timestamp: now,
            });
            let snapshot = w.clone();
            on_cancel(t, &snapshot);
        });
        Ok(())
    }
}

/// The work request as Identity, Core, OKE and MySQL return it.
pub fn render_status_style(w: &WorkRequest, now: SimTime) -> Value {
    let resources: Vec<Value> = w
        .resources
        .iter()
        .map(|r| {
            json!({
                "entityType": r.entity_type,
                "actionType": w.action_now(r),
                "identifier": r.identifier,
                "entityUri": r.entity_uri,
            })
        })
        .collect();
    let mut v = json!({
        "id": w.id,
        "operationType": w.operation_type,
        "status": w.status.as_str(),
        "compartmentId": w.compartment_id,
        "resources": resources,
        "percentComplete": w.percent_complete(now),
        "timeAccepted": rfc3339(w.time_accepted),
    });
    if let Some(t) = w.time_started {
        v["timeStarted"] = json!(rfc3339(t));
    }
    if let Some(t) = w.time_finished {
        v["timeFinished"] = json!(rfc3339(t));
    }
    v
}

/// `WorkRequestError` items.
pub fn render_errors(w: &WorkRequest) -> Vec<Value> {
    w.errors
        .iter()
        .map(|e| json!({"code": e.code, "message": e.message, "timestamp": rfc3339(e.timestamp)}))
        .collect()
}

/// `WorkRequestLogEntry` items.
pub fn render_logs(w: &WorkRequest) -> Vec<Value> {
    w.logs
        .iter()
        .map(|l| json!({"message": l.message, "timestamp": rfc3339(l.timestamp)}))
        .collect()
}

/// `sortBy` values of the status-style ListWorkRequests operations.
const STATUS_STYLE_SORT_BY: [&str; 6] = [
    "ID",
    "OPERATION_TYPE",
    "STATUS",
    "TIME_ACCEPTED",
    "TIME_STARTED",
    "TIME_FINISHED",
];

/// ListWorkRequests for the services whose work requests are status-style
/// (OKE, MySQL): `compartmentId` required, `sortBy`/`sortOrder` validated,
/// submission order (DESC reverses it), the service's own filters in
/// `keep`, paginated.
pub fn list_status_style(
    t: &Twin,
    p: &Params,
    services: &[&str],
    keep: impl Fn(&WorkRequest) -> bool,
) -> ApiResult {
    let c = p.required("compartmentId")?;
    p.one_of("sortBy", &STATUS_STYLE_SORT_BY)?;
    let descending = p.one_of("sortOrder", &["ASC", "DESC"])? == Some("DESC");
    let mut items: Vec<Value> = t
        .work_requests
        .of_service(services)
        .into_iter()
        .filter(|w| w.compartment_id == c && keep(w))
        .map(|w| render_status_style(w, t.now))
        .collect();
    if descending {
        items.reverse();
    }
    let (page, next) = paginate(items, p)?;
    Ok(Reply::page(&page, next))
}
