//! The vector-file format (see `test-vectors/README.md`) and small helpers.

use serde_json::{json, Map, Value};

/// A vector file being built: header fields plus the cases.
pub struct FileBuilder {
    name: &'static str,
    description: &'static str,
    sections: &'static [&'static str],
    notes: Map<String, Value>,
    tests: Vec<Value>,
}

impl FileBuilder {
    pub fn new(
        name: &'static str,
        description: &'static str,
        sections: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            description,
            sections,
            notes: Map::new(),
            tests: Vec::new(),
        }
    }

    /// Documents a flag used by negative cases (Wycheproof-style `notes`).
    pub fn note(&mut self, flag: &str, bug_type: &str, description: &str) {
        self.notes.insert(
            flag.to_string(),
            json!({ "bugType": bug_type, "description": description }),
        );
    }

    /// Adds a valid case: `fields` are merged into the case object.
    pub fn valid(&mut self, kind: &str, comment: &str, fields: Value) {
        self.push(kind, comment, "valid", &[], fields, None);
    }

    /// Adds an invalid case that must fail with `err`.
    pub fn invalid(
        &mut self,
        kind: &str,
        comment: &str,
        flags: &[&str],
        fields: Value,
        err: blindrelay::Error,
    ) {
        self.push(kind, comment, "invalid", flags, fields, Some(err));
    }

    fn push(
        &mut self,
        kind: &str,
        comment: &str,
        result: &str,
        flags: &[&str],
        fields: Value,
        err: Option<blindrelay::Error>,
    ) {
        for f in flags {
            assert!(
                self.notes.contains_key(*f),
                "flag {f} used in {} without a note",
                self.name
            );
        }
        let mut case = Map::new();
        case.insert("tcId".into(), json!(self.tests.len() + 1));
        case.insert("kind".into(), json!(kind));
        case.insert("comment".into(), json!(comment));
        case.insert("result".into(), json!(result));
        case.insert("flags".into(), json!(flags));
        if let Some(e) = err {
            case.insert(
                "error".into(),
                json!({ "code": e.code(), "name": e.name() }),
            );
        }
        if let Value::Object(m) = fields {
            for (k, v) in m {
                case.insert(k, v);
            }
        }
        self.tests.push(Value::Object(case));
    }

    pub fn build(self) -> (String, Value) {
        let v = json!({
            "schema": "blindrelay-vectors-v1",
            "file": self.name,
            "specVersion": blindrelay::SPEC_VERSION,
            "specSections": self.sections,
            "description": self.description,
            "notes": self.notes,
            "numberOfTests": self.tests.len(),
            "tests": self.tests,
        });
        (self.name.to_string(), v)
    }
}

pub fn h(bytes: impl AsRef<[u8]>) -> Value {
    Value::String(hex::encode(bytes))
}

/// Reads a hex field of a case.
pub fn bytes(case: &Value, key: &str) -> Result<Vec<u8>, String> {
    let s = case
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing hex field `{key}`"))?;
    hex::decode(s).map_err(|e| format!("field `{key}`: {e}"))
}

pub fn arr<const N: usize>(case: &Value, key: &str) -> Result<[u8; N], String> {
    let v = bytes(case, key)?;
    v.try_into()
        .map_err(|_| format!("field `{key}` is not {N} bytes"))
}

pub fn string(case: &Value, key: &str) -> Result<String, String> {
    case.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("missing string `{key}`"))
}

pub fn uint(case: &Value, key: &str) -> Result<u64, String> {
    case.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("missing integer `{key}`"))
}

pub fn kind(case: &Value) -> Result<String, String> {
    string(case, "kind")
}

/// The error code an invalid case expects.
pub fn expected_code(case: &Value) -> Result<u16, String> {
    case.get("error")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .ok_or_else(|| "invalid case without error.code".to_string())
}

/// Compares an expected hex field with computed bytes, with a readable diff.
pub fn expect_eq(case: &Value, key: &str, got: impl AsRef<[u8]>) -> Result<(), String> {
    let want = bytes(case, key)?;
    let got = got.as_ref();
    if want == got {
        return Ok(());
    }
    let first = want
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    Err(format!(
        "`{key}` mismatch: expected {} bytes, got {} bytes, first difference at byte {first}\n  expected: {}\n  computed: {}",
        want.len(),
        got.len(),
        abbrev(&want),
        abbrev(got)
    ))
}

fn abbrev(b: &[u8]) -> String {
    let s = hex::encode(b);
    if s.len() > 96 {
        format!("{}…{}", &s[..48], &s[s.len() - 16..])
    } else {
        s
    }
}

/// Checks that `result` is an error with the case's expected code.
pub fn expect_error<T>(case: &Value, result: Result<T, blindrelay::Error>) -> Result<(), String> {
    let want = expected_code(case)?;
    match result {
        Ok(_) => Err(format!(
            "expected error {want}, but the operation succeeded"
        )),
        Err(e) if e.code() == want => Ok(()),
        Err(e) => Err(format!(
            "expected error {want}, got {} ({})",
            e.code(),
            e.name()
        )),
    }
}

pub fn is_valid(case: &Value) -> bool {
    case.get("result").and_then(Value::as_str) == Some("valid")
}

/// A seeded RNG for a named vector family, so adding a family never shifts another's bytes.
pub fn rng(label: &str) -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    use sha2::Digest;
    let seed: [u8; 32] = sha2::Sha256::digest(format!("blindrelay vectors {label}")).into();
    rand_chacha::ChaCha20Rng::from_seed(seed)
}

pub fn fill<const N: usize>(rng: &mut rand_chacha::ChaCha20Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rand_core::RngCore::fill_bytes(rng, &mut b);
    b
}
