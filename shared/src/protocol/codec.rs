//! The wire format's grammar: unsigned numbers as LEB128 varints, signed ones zigzagged,
//! floats as 8 little-endian bytes, text and lists as a length then their bytes or items,
//! `Option` as 0 or 1 then the value, enums as their variant's index then its fields, structs
//! as their fields in order. No names, no generic machinery: [`Wire`] written per type, so
//! decoding in the dashboard's wasm costs a few bytes of code per field (serde's derives
//! cost kilobytes per type and format).

use std::collections::BTreeMap;

/// Why bytes are not a message of this wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message ends early, at byte {0}")]
    Truncated(usize),
    #[error("{0} bytes left over after the message")]
    Trailing(usize),
    #[error("a number at byte {0} does not fit its type")]
    Overflow(usize),
    #[error("text at byte {0} is not UTF-8")]
    NotUtf8(usize),
    #[error("{what} has no variant {index}")]
    Variant { what: &'static str, index: u64 },
    #[error("the key `{0}` is given twice")]
    Duplicate(String),
    #[error("not a frame of gilscope's wire format (its first byte is {0})")]
    NotWire(u8),
    #[error("wire version {found}; this side speaks version {speaks}")]
    Version { found: u8, speaks: u8 },
}

/// A value that goes on the wire and comes back equal.
///
/// Reading never returns early: bad bytes are recorded in the [`Reader`] (the first error
/// wins, [`Reader::finish`] reports it) and a placeholder (0, empty, `None`, the first
/// variant) stands in. Early returns would make every struct's decoder drop the fields read
/// so far on each path, which was most of its code in the wasm.
pub trait Wire: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader<'_>) -> Self;
}

/// Bytes being written.
#[derive(Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }
}

/// Bytes being read, front to back, and the first thing wrong with them.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    error: Option<WireError>,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes,
            at: 0,
            error: None,
        }
    }

    /// Records what is wrong (the first error only) and skips to the end, so what follows
    /// reads as empty.
    pub fn fail(&mut self, error: WireError) {
        self.error.get_or_insert(error);
        self.at = self.bytes.len();
    }

    /// Bytes not read yet: a bound on how many items a list can still hold.
    pub fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// The first error met, or an error if bytes are left over.
    pub fn finish(self) -> Result<(), WireError> {
        match (self.error, self.bytes.len() - self.at) {
            (Some(e), _) => Err(e),
            (None, 0) => Ok(()),
            (None, n) => Err(WireError::Trailing(n)),
        }
    }

    /// The next `n` bytes, or none (recorded) if fewer are left.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        if n > self.left() {
            self.fail(WireError::Truncated(self.bytes.len()));
            return &[];
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        out
    }

    pub fn byte(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    pub fn varint(&mut self) -> u64 {
        let start = self.at;
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            v |= bits << shift;
            if b < 0x80 {
                return v;
            }
        }
        self.fail(WireError::Overflow(start));
        0
    }

    /// A list's or a text's length, never more than the bytes left (0 once failed).
    pub fn count(&mut self) -> usize {
        let n = self.varint();
        match usize::try_from(n) {
            Ok(n) if n <= self.left() => n,
            _ => {
                self.fail(WireError::Truncated(self.bytes.len()));
                0
            }
        }
    }

    /// An enum's variant index below `count`, for the type named `what` (0 when it is not).
    pub fn variant(&mut self, what: &'static str, count: u8) -> u8 {
        match self.byte() {
            i if i < count => i,
            i => {
                self.fail(WireError::Variant {
                    what,
                    index: u64::from(i),
                });
                0
            }
        }
    }

    /// A number that must fit a narrower type, or 0 (recorded).
    fn narrow<T: TryFrom<i128> + Default>(&mut self, start: usize, v: i128) -> T {
        T::try_from(v).unwrap_or_else(|_| {
            self.fail(WireError::Overflow(start));
            T::default()
        })
    }
}

impl Wire for u64 {
    fn put(&self, w: &mut Writer) {
        w.varint(*self);
    }
    fn get(r: &mut Reader<'_>) -> u64 {
        r.varint()
    }
}

impl Wire for u32 {
    fn put(&self, w: &mut Writer) {
        w.varint(u64::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> u32 {
        let at = r.at;
        let v = r.varint();
        r.narrow(at, i128::from(v))
    }
}

impl Wire for i64 {
    fn put(&self, w: &mut Writer) {
        w.varint(((*self << 1) ^ (*self >> 63)) as u64);
    }
    fn get(r: &mut Reader<'_>) -> i64 {
        let z = r.varint();
        (z >> 1) as i64 ^ -((z & 1) as i64)
    }
}

impl Wire for i32 {
    fn put(&self, w: &mut Writer) {
        i64::from(*self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> i32 {
        let at = r.at;
        let v = i64::get(r);
        r.narrow(at, i128::from(v))
    }
}

impl Wire for f64 {
    fn put(&self, w: &mut Writer) {
        w.bytes.extend_from_slice(&self.to_le_bytes());
    }
    fn get(r: &mut Reader<'_>) -> f64 {
        let mut b = [0; 8];
        if let Ok(bytes) = <[u8; 8]>::try_from(r.take(8)) {
            b = bytes;
        }
        f64::from_le_bytes(b)
    }
}

impl Wire for bool {
    fn put(&self, w: &mut Writer) {
        w.byte(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> bool {
        r.variant("bool", 2) == 1
    }
}

impl Wire for String {
    fn put(&self, w: &mut Writer) {
        w.varint(self.len() as u64);
        w.bytes.extend_from_slice(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> String {
        let n = r.count();
        let at = r.at;
        match std::str::from_utf8(r.take(n)) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                r.fail(WireError::NotUtf8(at));
                String::new()
            }
        }
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.byte(0),
            Some(v) => {
                w.byte(1);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<T> {
        match r.variant("Option", 2) {
            0 => None,
            _ => Some(T::get(r)),
        }
    }
}

impl<T: Wire> Wire for Box<T> {
    fn put(&self, w: &mut Writer) {
        (**self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Box<T> {
        Box::new(T::get(r))
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.varint(self.len() as u64);
        for item in self {
            item.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Vec<T> {
        // Every item takes at least one byte, so the length is bounded by the bytes left.
        let n = r.count();
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::get(r));
        }
        out
    }
}

/// A map's key, named in the error when it is given twice.
pub trait MapKey: Wire + Ord {
    fn label(&self) -> &str;
}

impl MapKey for String {
    fn label(&self) -> &str {
        self
    }
}

/// Keys in order, each once: a repeated key is refused, not silently replaced.
impl<K: MapKey, V: Wire> Wire for BTreeMap<K, V> {
    fn put(&self, w: &mut Writer) {
        w.varint(self.len() as u64);
        for (k, v) in self {
            k.put(w);
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> BTreeMap<K, V> {
        let n = r.count();
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let k = K::get(r);
            let v = V::get(r);
            if out.contains_key(&k) {
                r.fail(WireError::Duplicate(k.label().to_owned()));
            }
            out.insert(k, v);
        }
        out
    }
}

/// [`Wire`] for a struct: its fields in the order listed, which must name every field (the
/// destructuring fails to compile when a field is added and not listed here).
macro_rules! wire_struct {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Wire for $t {
            fn put(&self, w: &mut Writer) {
                let $t { $($f),* } = self;
                $( $f.put(w); )*
            }
            fn get(r: &mut Reader<'_>) -> $t {
                $t { $($f: Wire::get(r)),* }
            }
        }
    };
}

/// [`Wire`] for an enum without fields: its discriminant, one byte. The list must name
/// every variant (the match fails to compile otherwise), in any order.
macro_rules! wire_unit_enum {
    ($t:ident { $($v:ident),* $(,)? }) => {
        impl Wire for $t {
            fn put(&self, w: &mut Writer) {
                match self { $($t::$v)|* => w.byte(*self as u8) }
            }
            fn get(r: &mut Reader<'_>) -> $t {
                let all = [$($t::$v),*];
                let i = r.byte();
                all.into_iter().find(|v| *v as u8 == i).unwrap_or_else(|| {
                    r.fail(WireError::Variant { what: stringify!($t), index: u64::from(i) });
                    all[0]
                })
            }
        }
    };
}

/// [`Wire`] for a newtype around a number (`LaneId(u32)`).
macro_rules! wire_newtype {
    ($($t:ident),* $(,)?) => {
        $(impl Wire for $t {
            fn put(&self, w: &mut Writer) {
                self.0.put(w);
            }
            fn get(r: &mut Reader<'_>) -> $t {
                $t(Wire::get(r))
            }
        })*
    };
}

pub(crate) use {wire_newtype, wire_struct, wire_unit_enum};

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Wire + PartialEq + std::fmt::Debug>(v: T) {
        let mut w = Writer::default();
        v.put(&mut w);
        let mut r = Reader::new(&w.bytes);
        assert_eq!(T::get(&mut r), v);
        r.finish().unwrap();
    }

    /// What reading a `T` from `bytes` fails with.
    fn refused<T: Wire>(bytes: &[u8]) -> WireError {
        let mut r = Reader::new(bytes);
        T::get(&mut r);
        r.finish().unwrap_err()
    }

    #[test]
    fn numbers_at_their_edges_round_trip() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u64::MAX / 2, u64::MAX] {
            round_trip(v);
        }
        for v in [0, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            round_trip(v);
        }
        for v in [0.0, -0.5, 1e300, f64::INFINITY] {
            round_trip(v);
        }
        round_trip(u32::MAX);
        round_trip(i32::MIN);
        round_trip(Some("é".to_string()));
        round_trip(vec![Some(true), None]);
    }

    #[test]
    fn bad_bytes_are_refused_with_their_reason() {
        assert_eq!(refused::<u32>(&[0x80]), WireError::Truncated(1));
        assert_eq!(
            refused::<u32>(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
            WireError::Overflow(0)
        );
        assert_eq!(refused::<u64>(&[0xff; 11]), WireError::Overflow(0));
        // A list claiming more items than bytes left allocates nothing.
        let huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(refused::<Vec<u64>>(&huge), WireError::Truncated(5));
        assert_eq!(refused::<String>(&[2, 0xc3, 0x28]), WireError::NotUtf8(1));
        let twice = [2, 1, b'a', 1, 1, b'a', 2];
        assert_eq!(
            refused::<BTreeMap<String, u64>>(&twice),
            WireError::Duplicate("a".into())
        );
        assert_eq!(
            refused::<bool>(&[2]),
            WireError::Variant {
                what: "bool",
                index: 2
            }
        );
        // The first error is the one reported, not what failed after it.
        assert_eq!(
            refused::<Vec<bool>>(&[2, 7, 9]),
            WireError::Variant {
                what: "bool",
                index: 7
            }
        );
    }
}
