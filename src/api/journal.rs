//! The journal: every mutating request that reached a handler, in the order it
//! changed the twin, with the virtual instant it acted at. The twin is
//! deterministic, so its whole state is (boot settings, journal): a snapshot is
//! that pair, and a restore replays the journal through the router.
//!
//! With `--state-file` the journal is also an append-only file: a header line,
//! then one JSON line per entry, each written and fsynced before the reply
//! leaves. A torn last line (a crash mid-write) has no newline or does not
//! parse, and is dropped on the next start. Rewrites (start-up, reset,
//! restore) go through a temporary file, fsync and rename, so a crash never
//! leaves a half-written file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::state::Boot;
use crate::kernel::SimDuration;

/// Version of the state-file format.
pub const FORMAT: u32 = 1;

/// One mutating request, as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Virtual instant (ms) the request acted at.
    pub at: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query, as received.
    pub target: String,
    /// The headers that change what a handler does (retry token, if-match, content type).
    pub headers: Vec<(String, String)>,
    /// The body (requests are JSON, so text).
    pub body: String,
    /// The status the twin answered with. A replay that answers otherwise
    /// (a state file from a twin that judged requests differently) stops
    /// with an error instead of resuming a state that silently diverged.
    /// Absent in state files written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// The settings a journal replays against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// Format version.
    pub ocisim_state: u32,
    /// Master seed.
    pub seed: u64,
    /// Region.
    pub region: String,
    /// Tenancy OCID, if fixed by a flag.
    pub tenancy_id: Option<String>,
    /// Init scenario: file name and text.
    pub init: Option<(String, String)>,
    /// Duration overrides in ms.
    pub durations: BTreeMap<String, u64>,
}

impl Header {
    /// The header of a server started with `boot`.
    pub fn of(boot: &Boot) -> Header {
        Header {
            ocisim_state: FORMAT,
            seed: boot.seed,
            region: boot.region.clone(),
            tenancy_id: boot.tenancy_id.clone(),
            init: boot.init.clone(),
            durations: boot
                .durations
                .iter()
                .map(|(k, v)| (k.clone(), v.as_ms()))
                .collect(),
        }
    }

    /// Applies the header to `boot` (the file's settings win on restart).
    pub fn apply(&self, boot: &mut Boot) {
        boot.seed = self.seed;
        boot.region = self.region.clone();
        boot.tenancy_id = self.tenancy_id.clone();
        boot.init = self.init.clone();
        boot.durations = self
            .durations
            .iter()
            .map(|(k, v)| (k.clone(), SimDuration::from_ms(*v)))
            .collect();
    }
}

/// The whole state: settings, mutations, and the virtual time reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Settings.
    pub header: Header,
    /// Mutations in order.
    pub entries: Vec<Entry>,
    /// Virtual time (ms) when the snapshot was taken.
    pub now_ms: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Line {
    Entry(Entry),
    Clock(u64),
}

/// The journal in memory, and its file when there is one.
#[derive(Debug, Default)]
pub struct Journal {
    /// Entries in order.
    pub entries: Vec<Entry>,
    /// The last virtual time written as a clock line.
    pub clock_ms: u64,
    file: Option<(PathBuf, File)>,
}

impl Journal {
    /// A journal kept in memory only.
    pub fn in_memory() -> Journal {
        Journal::default()
    }

    /// Opens (or creates) the state file. Returns the journal and, when the
    /// file held a state, that state (header from the file, entries up to the
    /// first torn or unreadable line).
    pub fn open(path: &Path, header: &Header) -> Result<(Journal, Option<Snapshot>), String> {
        let found = match std::fs::read(path) {
            Ok(bytes) => Some(parse_file(path, &bytes)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
        };
        let snap = found.unwrap_or_else(|| Snapshot {
            header: header.clone(),
            entries: Vec::new(),
            now_ms: 0,
        });
        write_atomic(path, &render(&snap))?;
        let file = open_append(path)?;
        let journal = Journal {
            entries: snap.entries.clone(),
            clock_ms: snap.now_ms,
            file: Some((path.to_path_buf(), file)),
        };
        Ok((journal, Some(snap)))
    }

    /// Appends an entry (and fsyncs it to the file, if any).
    pub fn append(&mut self, e: Entry) -> Result<(), String> {
        if let Some((path, f)) = &mut self.file {
            let line = serde_json::to_string(&Line::Entry(e.clone())).expect("entries serialize");
            f.write_all(format!("{line}\n").as_bytes())
                .and_then(|()| f.sync_data())
                .map_err(|err| format!("{}: cannot append: {err}", path.display()))?;
        }
        self.clock_ms = self.clock_ms.max(e.at);
        self.entries.push(e);
        Ok(())
    }

    /// Records the virtual time reached (after an explicit advance), so a
    /// restart resumes from it.
    pub fn clock(&mut self, now_ms: u64) -> Result<(), String> {
        if now_ms <= self.clock_ms {
            return Ok(());
        }
        self.clock_ms = now_ms;
        if let Some((path, f)) = &mut self.file {
            let line = serde_json::to_string(&Line::Clock(now_ms)).expect("clock lines serialize");
            f.write_all(format!("{line}\n").as_bytes())
                .and_then(|()| f.sync_data())
                .map_err(|err| format!("{}: cannot append: {err}", path.display()))?;
        }
        Ok(())
    }

    /// Replaces everything (reset, restore): the file is rewritten atomically.
    pub fn replace(&mut self, snap: &Snapshot) -> Result<(), String> {
        if let Some((path, _)) = &self.file {
            let path = path.clone();
            write_atomic(&path, &render(snap))?;
            self.file = Some((path.clone(), open_append(&path)?));
        }
        self.entries = snap.entries.clone();
        self.clock_ms = snap.now_ms;
        Ok(())
    }

    /// The state file's path, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }
}

fn render(snap: &Snapshot) -> String {
    let mut out = serde_json::to_string(&snap.header).expect("headers serialize");
    out.push('\n');
    for e in &snap.entries {
        out.push_str(&serde_json::to_string(&Line::Entry(e.clone())).expect("entries serialize"));
        out.push('\n');
    }
    if snap.now_ms > 0 {
        out.push_str(&serde_json::to_string(&Line::Clock(snap.now_ms)).expect("clock serializes"));
        out.push('\n');
    }
    out
}

/// Reads a state file: the header must parse; entries stop at the first line
/// that is torn (no newline) or unreadable.
fn parse_file(path: &Path, bytes: &[u8]) -> Result<Snapshot, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split_inclusive('\n');
    let head = lines
        .next()
        .filter(|l| l.ends_with('\n'))
        .ok_or_else(|| format!("{}: the state file has no header line", path.display()))?;
    let header: Header = serde_json::from_str(head.trim_end())
        .map_err(|e| format!("{}:1: not an ocisim state header: {e}", path.display()))?;
    if header.ocisim_state != FORMAT {
        return Err(format!(
            "{}:1: state format {} is not the supported {FORMAT}",
            path.display(),
            header.ocisim_state
        ));
    }
    let mut snap = Snapshot {
        header,
        entries: Vec::new(),
        now_ms: 0,
    };
    for line in lines {
        if !line.ends_with('\n') {
            break; // torn tail
        }
        match serde_json::from_str::<Line>(line.trim_end()) {
            Ok(Line::Entry(e)) => {
                snap.now_ms = snap.now_ms.max(e.at);
                snap.entries.push(e);
            }
            Ok(Line::Clock(ms)) => snap.now_ms = snap.now_ms.max(ms),
            Err(_) => break,
        }
    }
    Ok(snap)
}

fn open_append(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: cannot open for append: {e}", path.display()))
}

/// Writes `content` to `path` through a temporary file, fsync and rename, then
/// fsyncs the directory, so the file is either the old or the new one.
pub fn write_atomic(path: &Path, content: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let fail = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
    let mut f = File::create(&tmp).map_err(fail)?;
    f.write_all(content.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: u64) -> Entry {
        Entry {
            at,
            method: "POST".into(),
            target: "/20160918/vcns".into(),
            headers: vec![],
            body: "{}".into(),
            status: Some(200),
        }
    }

    #[test]
    fn a_torn_tail_is_dropped_and_the_rest_resumes() {
        let dir = std::env::temp_dir().join(format!("ocisim-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.jsonl");
        let _ = std::fs::remove_file(&path);
        let header = Header::of(&Boot::default());
        let (mut j, _) = Journal::open(&path, &header).unwrap();
        j.append(entry(5)).unwrap();
        j.append(entry(9)).unwrap();
        drop(j);
        // A crash in the middle of the third line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"entry":{"at":12,"meth"#).unwrap();
        drop(f);
        let (j, snap) = Journal::open(&path, &header).unwrap();
        let snap = snap.unwrap();
        assert_eq!(snap.entries, vec![entry(5), entry(9)]);
        assert_eq!(snap.now_ms, 9);
        assert_eq!(j.entries.len(), 2);
        // The rewritten file no longer has the torn line: header, two
        // entries and the clock reached.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(!text.contains("meth\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
