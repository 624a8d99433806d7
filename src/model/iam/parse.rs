//! The IAM policy statement grammar (domain.md §6):
//! `Allow <subject> to <verb> <resource-type> in <location> [where <conditions>]`.
//!
//! Keywords, verbs and resource types match case-insensitively. Every error
//! carries the 1-based column where the statement went wrong.

use std::fmt;

use thiserror::Error;

use super::resources::is_known_resource_type;

/// A verb; each includes the ones before it (inspect ⊂ read ⊂ use ⊂ manage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// List resources, without confidential data.
    Inspect,
    /// Get a resource and its metadata.
    Read,
    /// Work with existing resources.
    Use,
    /// Everything, including create and delete.
    Manage,
}

impl Verb {
    /// Every verb, weakest first.
    pub const ALL: [Verb; 4] = [Verb::Inspect, Verb::Read, Verb::Use, Verb::Manage];

    /// The policy word.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Inspect => "inspect",
            Verb::Read => "read",
            Verb::Use => "use",
            Verb::Manage => "manage",
        }
    }

    fn parse(word: &str) -> Option<Verb> {
        Verb::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A group or dynamic group, by name or by OCID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRef {
    /// `group Admins`.
    Name(String),
    /// `group id ocid1.group...`.
    Id(String),
}

/// One entry of a subject list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectItem {
    /// `group ...`.
    Group(GroupRef),
    /// `dynamic-group ...`.
    DynamicGroup(GroupRef),
}

/// Who a statement is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `any-user`: every principal, workloads included.
    AnyUser,
    /// `any-group`: every user in some group.
    AnyGroup,
    /// A comma-separated list of groups and dynamic groups.
    List(Vec<SubjectItem>),
}

/// Where a statement applies, relative to the compartment the policy is attached to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// `in tenancy` (root policies only).
    Tenancy,
    /// `in compartment A:B`: names below the policy's compartment.
    Path(Vec<String>),
    /// `in compartment id ocid1.compartment...`.
    Id(String),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
}

/// The right-hand side of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `'text'` or a bare word such as an OCID.
    Literal(String),
    /// `/pattern/` where `*` matches any run of characters.
    Pattern(String),
}

/// A condition tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `variable op value`.
    Clause {
        /// Variable name, lower-cased (`request.principal.type`).
        variable: String,
        /// Operator.
        op: Op,
        /// Value.
        value: Value,
    },
    /// `any { ... }`: one must hold.
    Any(Vec<Condition>),
    /// `all { ... }`: every one must hold.
    All(Vec<Condition>),
}

/// One parsed `Allow` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement as written.
    pub text: String,
    /// Subject.
    pub subject: Subject,
    /// Verb.
    pub verb: Verb,
    /// Resource type or family, lower-cased.
    pub resource_type: String,
    /// Location.
    pub location: Location,
    /// Optional `where` clause.
    pub condition: Option<Condition>,
}

/// A statement that does not parse, with the column where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based character column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Pattern(String),
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Quoted(q) => format!("'{q}'"),
            Tok::Pattern(p) => format!("/{p}/"),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Ne => "`!=`".into(),
        }
    }
}

fn err(column: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        column,
        message: message.into(),
    }
}

/// Splits a statement into tokens with their 1-based columns.
fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '{' | '}' | ',' | '=' => {
                out.push((col, single(c)));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push((col, Tok::Ne));
                i += 2;
            }
            '\'' | '"' | '/' => {
                let end = (i + 1..chars.len())
                    .find(|j| chars[*j] == c)
                    .ok_or_else(|| err(col, format!("unterminated {c}")))?;
                let inner: String = chars[i + 1..end].iter().collect();
                out.push((
                    col,
                    if c == '/' {
                        Tok::Pattern(inner)
                    } else {
                        Tok::Quoted(inner)
                    },
                ));
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(err(col, format!("unexpected character `{c}`")));
                }
                out.push((col, Tok::Word(chars[start..i].iter().collect())));
            }
        }
    }
    Ok(out)
}

fn single(c: char) -> Tok {
    match c {
        '{' => Tok::LBrace,
        '}' => Tok::RBrace,
        ',' => Tok::Comma,
        _ => Tok::Eq,
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '{' | '}' | ',' | '=' | '!' | '\'' | '"' | '/')
}

/// A cursor over tokens.
struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end_column: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn column(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_column, |(c, _)| *c)
    }

    fn next(&mut self, expected: &str) -> Result<(usize, Tok), ParseError> {
        let col = self.column();
        let tok = self.toks.get(self.pos).cloned().ok_or_else(|| {
            err(
                col,
                format!("expected {expected}, found the end of the statement"),
            )
        })?;
        self.pos += 1;
        Ok(tok)
    }

    fn word(&mut self, expected: &str) -> Result<(usize, String), ParseError> {
        match self.next(expected)? {
            (c, Tok::Word(w)) => Ok((c, w)),
            (c, t) => Err(err(
                c,
                format!("expected {expected}, found {}", t.describe()),
            )),
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<(), ParseError> {
        let (c, w) = self.word(&format!("`{kw}`"))?;
        if w.eq_ignore_ascii_case(kw) {
            Ok(())
        } else {
            Err(err(c, format!("expected `{kw}`, found `{w}`")))
        }
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
}

/// Parses one statement.
pub fn parse_statement(text: &str) -> Result<Statement, ParseError> {
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end_column: text.chars().count() + 1,
    };
    let (c, first) = p.word("`Allow`")?;
    if !first.eq_ignore_ascii_case("allow") {
        return Err(err(
            c,
            format!("only `Allow` statements are modelled, found `{first}`"),
        ));
    }
    let subject = parse_subject(&mut p)?;
    p.keyword("to")?;
    let (c, v) = p.word("a verb (inspect, read, use, manage)")?;
    let verb = Verb::parse(&v).ok_or_else(|| {
        err(
            c,
            format!("unknown verb `{v}`: use inspect, read, use or manage"),
        )
    })?;
    let (c, rt) = p.word("a resource-type")?;
    let resource_type = rt.to_ascii_lowercase();
    if !is_known_resource_type(&resource_type) {
        return Err(err(c, format!("unknown resource-type `{rt}`")));
    }
    p.keyword("in")?;
    let location = parse_location(&mut p)?;
    let condition = if p.peek().is_some() {
        p.keyword("where")?;
        Some(parse_condition(&mut p)?)
    } else {
        None
    };
    if let Some(t) = p.peek() {
        return Err(err(
            p.column(),
            format!("unexpected {} after the statement", t.describe()),
        ));
    }
    Ok(Statement {
        text: text.trim().to_string(),
        subject,
        verb,
        resource_type,
        location,
        condition,
    })
}

fn parse_subject(p: &mut Parser) -> Result<Subject, ParseError> {
    if p.peek_keyword("any-user") {
        p.pos += 1;
        return Ok(Subject::AnyUser);
    }
    if p.peek_keyword("any-group") {
        p.pos += 1;
        return Ok(Subject::AnyGroup);
    }
    let mut items = vec![parse_subject_item(p)?];
    while p.eat(&Tok::Comma) {
        items.push(parse_subject_item(p)?);
    }
    Ok(Subject::List(items))
}

fn parse_subject_item(p: &mut Parser) -> Result<SubjectItem, ParseError> {
    let (c, kind) = p.word("`group`, `dynamic-group`, `any-user` or `any-group`")?;
    let dynamic = if kind.eq_ignore_ascii_case("group") {
        false
    } else if kind.eq_ignore_ascii_case("dynamic-group") {
        true
    } else {
        return Err(err(
            c,
            format!("unknown subject `{kind}`: use group, dynamic-group, any-user or any-group"),
        ));
    };
    let group = if p.peek_keyword("id") {
        p.pos += 1;
        GroupRef::Id(p.word("a group OCID")?.1)
    } else {
        GroupRef::Name(name_token(p, "a group name")?)
    };
    Ok(if dynamic {
        SubjectItem::DynamicGroup(group)
    } else {
        SubjectItem::Group(group)
    })
}

fn name_token(p: &mut Parser, expected: &str) -> Result<String, ParseError> {
    match p.next(expected)? {
        (_, Tok::Word(w)) | (_, Tok::Quoted(w)) => Ok(w),
        (c, t) => Err(err(
            c,
            format!("expected {expected}, found {}", t.describe()),
        )),
    }
}

fn parse_location(p: &mut Parser) -> Result<Location, ParseError> {
    let (c, w) = p.word("`tenancy` or `compartment`")?;
    if w.eq_ignore_ascii_case("tenancy") {
        return Ok(Location::Tenancy);
    }
    if !w.eq_ignore_ascii_case("compartment") {
        return Err(err(
            c,
            format!("expected `tenancy` or `compartment`, found `{w}`"),
        ));
    }
    if p.peek_keyword("id") {
        p.pos += 1;
        return Ok(Location::Id(p.word("a compartment OCID")?.1));
    }
    let col = p.column();
    let path = name_token(p, "a compartment name or path")?;
    let parts: Vec<String> = path.split(':').map(|s| s.trim().to_string()).collect();
    if parts.iter().any(String::is_empty) {
        return Err(err(col, format!("empty name in compartment path `{path}`")));
    }
    Ok(Location::Path(parts))
}

fn parse_condition(p: &mut Parser) -> Result<Condition, ParseError> {
    for (kw, all) in [("any", false), ("all", true)] {
        if p.peek_keyword(kw) && p.toks.get(p.pos + 1).map(|(_, t)| t) == Some(&Tok::LBrace) {
            p.pos += 2;
            let mut items = vec![parse_condition(p)?];
            while p.eat(&Tok::Comma) {
                items.push(parse_condition(p)?);
            }
            let col = p.column();
            if !p.eat(&Tok::RBrace) {
                return Err(err(col, format!("expected `,` or `}}` to close `{kw} {{`")));
            }
            return Ok(if all {
                Condition::All(items)
            } else {
                Condition::Any(items)
            });
        }
    }
    parse_clause(p)
}

fn parse_clause(p: &mut Parser) -> Result<Condition, ParseError> {
    let (c, variable) = p.word("a condition (`variable = 'value'`, `any {…}` or `all {…}`)")?;
    if !variable.contains('.') {
        return Err(err(
            c,
            format!("`{variable}` is not a variable (e.g. request.principal.type)"),
        ));
    }
    let op = match p.next("`=` or `!=`")? {
        (_, Tok::Eq) => Op::Eq,
        (_, Tok::Ne) => Op::Ne,
        (c, t) => {
            return Err(err(
                c,
                format!("expected `=` or `!=`, found {}", t.describe()),
            ));
        }
    };
    let value = match p.next("a value")? {
        (_, Tok::Quoted(q)) | (_, Tok::Word(q)) => Value::Literal(q),
        (_, Tok::Pattern(pat)) => Value::Pattern(pat),
        (c, t) => return Err(err(c, format!("expected a value, found {}", t.describe()))),
    };
    Ok(Condition::Clause {
        variable: variable.to_ascii_lowercase(),
        op,
        value,
    })
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Clause {
                variable,
                op,
                value,
            } => {
                let op = if *op == Op::Eq { "=" } else { "!=" };
                match value {
                    Value::Literal(v) => write!(f, "{variable} {op} '{v}'"),
                    Value::Pattern(v) => write!(f, "{variable} {op} /{v}/"),
                }
            }
            Condition::Any(items) | Condition::All(items) => {
                let kw = if matches!(self, Condition::Any(_)) {
                    "any"
                } else {
                    "all"
                };
                let inner: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "{kw} {{{}}}", inner.join(", "))
            }
        }
    }
}
