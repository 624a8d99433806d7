//! Scenario source text: splitting a multi-document YAML file, mapping field
//! paths to lines, and the error type that names file, line and field.
//!
//! This is the only place (with `file.rs`) that knows YAML.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde_saphyr::granit_parser::{Event, Parser};

/// A problem in a scenario or manifest file, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// File path as given.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Field path such as `network.vcns[0].subnets[1].cidr`, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(p) = self.field.as_deref().filter(|p| !p.is_empty()) {
            write!(f, ": field `{p}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// One YAML document of a file, with where it starts.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file it came from.
    pub file: String,
    /// The document's text.
    pub text: String,
    /// Line of the file where the document's text starts (0-based offset).
    pub line_offset: usize,
    /// Field path → 1-based line in the file.
    paths: BTreeMap<String, usize>,
}

/// Splits `text` at `---` lines into documents (empty ones dropped).
pub fn split_documents(file: &str, text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 0usize;
    let mut push = |current: &mut String, start: usize| {
        if current
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            docs.push(Document::new(file, std::mem::take(current), start));
        }
        current.clear();
    };
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") || t == "..." {
            push(&mut current, start);
            start = i + 1;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    push(&mut current, start);
    docs
}

#[derive(Debug)]
enum Frame {
    Map { prefix: String, key: Option<String> },
    Seq { prefix: String, index: usize },
}

impl Document {
    fn new(file: &str, text: String, line_offset: usize) -> Document {
        let paths = index_paths(&text, line_offset);
        Document {
            file: file.to_string(),
            text,
            line_offset,
            paths,
        }
    }

    /// The line of `path`, or of its longest known prefix.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path.to_string();
        loop {
            if let Some(l) = self.paths.get(&p) {
                return Some(*l);
            }
            let cut = p.rfind(['.', '['])?;
            p.truncate(cut);
        }
    }

    /// An error at `path` in this document.
    pub fn error(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.file.clone(),
            line: self.line_of(path).or(Some(self.line_offset + 1)),
            field: Some(path.to_string()),
            message: message.into(),
        }
    }

    /// The scalar written at a 1-based line and column of this document, for messages.
    fn token_at(&self, line: usize, column: usize) -> Option<String> {
        let text = self.text.lines().nth(line.checked_sub(1)?)?;
        let rest = text.get(column.checked_sub(1)?..)?;
        let token: String = rest
            .chars()
            .take_while(|c| !matches!(c, ',' | '}' | ']' | '#'))
            .collect();
        let token = token.trim();
        (!token.is_empty() && token.len() <= 80).then(|| token.to_string())
    }

    /// Deserializes the document, turning serde errors into located errors.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ScenarioError> {
        let mut path_text = String::new();
        let result: Result<T, serde_saphyr::Error> =
            serde_saphyr::with_deserializer_from_str(&self.text, |de| {
                serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
                    path_text = render_path(e.path());
                    e.into_inner()
                })
            });
        result.map_err(|e| {
            let loc = e.location();
            let line = loc
                .map(|l| l.line() as usize + self.line_offset)
                .or_else(|| self.line_of(&path_text));
            let mut message = first_line(&e.to_string());
            if let Some(l) = loc.filter(|_| !message.contains('`'))
                && let Some(found) = self.token_at(l.line() as usize, l.column() as usize)
            {
                message = format!("{message}, found `{found}`");
            }
            ScenarioError {
                file: self.file.clone(),
                line,
                field: (!path_text.is_empty()).then_some(path_text.clone()),
                message,
            }
        })
    }
}

/// serde-saphyr renders a snippet after the message; keep the message line only,
/// without its own `error:` and location prefixes (the location is printed separately).
fn first_line(s: &str) -> String {
    let mut line = s.lines().next().unwrap_or(s).trim();
    line = line.strip_prefix("error: ").unwrap_or(line);
    if let Some(rest) = line.strip_prefix("line ")
        && let Some((_, msg)) = rest.split_once(": ")
    {
        line = msg;
    }
    // Drop a trailing " at line X column Y", the location is printed separately.
    match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}

fn render_path(p: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in p.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Maps every key and sequence item of a YAML document to its 1-based file line.
fn index_paths(text: &str, line_offset: usize) -> BTreeMap<String, usize> {
    let mut paths = BTreeMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let line = span.start.line() + line_offset;
        // The path of a node starting at this event, and whether it is a map key.
        let node_path = |stack: &mut Vec<Frame>,
                         paths: &mut BTreeMap<String, usize>,
                         scalar: Option<&str>|
         -> Option<String> {
            match stack.last_mut() {
                None => Some(String::new()),
                Some(Frame::Map { prefix, key }) => match key.take() {
                    None => {
                        if let Some(k) = scalar {
                            let p = if prefix.is_empty() {
                                k.to_string()
                            } else {
                                format!("{prefix}.{k}")
                            };
                            paths.entry(p).or_insert(line);
                            *key = Some(k.to_string());
                        }
                        None
                    }
                    Some(k) => Some(if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}.{k}")
                    }),
                },
                Some(Frame::Seq { prefix, index }) => {
                    let p = format!("{prefix}[{index}]");
                    *index += 1;
                    paths.entry(p.clone()).or_insert(line);
                    Some(p)
                }
            }
        };
        match event {
            Event::Scalar(v, ..) => {
                node_path(&mut stack, &mut paths, Some(&v));
            }
            Event::MappingStart(..) => {
                if let Some(p) = node_path(&mut stack, &mut paths, None) {
                    stack.push(Frame::Map {
                        prefix: p,
                        key: None,
                    });
                } else {
                    stack.push(Frame::Map {
                        prefix: "<complex key>".into(),
                        key: None,
                    });
                }
            }
            Event::SequenceStart(..) => {
                let p = node_path(&mut stack, &mut paths, None)
                    .unwrap_or_else(|| "<complex key>".into());
                stack.push(Frame::Seq {
                    prefix: p,
                    index: 0,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_indexes_paths() {
        let text = "a: 1\nb:\n  - x: 1\n  - x: 2\n    y: [3, 4]\n---\nkind: Deployment\nspec:\n  replicas: 3\n";
        let docs = split_documents("f.yaml", text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line_of("a"), Some(1));
        assert_eq!(docs[0].line_of("b[1].x"), Some(4));
        assert_eq!(docs[0].line_of("b[1].y[1]"), Some(5));
        assert_eq!(docs[0].line_of("b[1].zzz"), Some(4));
        assert_eq!(docs[1].line_of("spec.replicas"), Some(9));
    }

    #[test]
    fn parse_errors_name_line_and_field() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u32,
            b: Vec<B>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            x: u32,
        }
        let docs = split_documents("f.yaml", "a: 1\nb:\n  - x: 1\n  - x: nope\n");
        let e = docs[0].parse::<S>().unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(e.field.as_deref(), Some("b[1].x"));
        let docs = split_documents("f.yaml", "a: 1\nb: []\nc: 2\n");
        let e = docs[0].parse::<S>().unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("unknown field"), "{e}");
    }
}
