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
pub trait Wire: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError>;
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

/// Bytes being read, front to back.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// Bytes not read yet: a bound on how many items a list can still hold.
    pub fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), WireError> {
        match self.left() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.left() {
            return Err(WireError::Truncated(self.bytes.len()));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    pub fn byte(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub fn varint(&mut self) -> Result<u64, WireError> {
        let start = self.at;
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(WireError::Overflow(start));
            }
            v |= bits << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(WireError::Overflow(start))
    }

    /// A list's or a text's length, never more than the bytes left.
    pub fn count(&mut self) -> Result<usize, WireError> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.left() => Ok(n),
            _ => Err(WireError::Truncated(self.bytes.len())),
        }
    }

    /// An enum's variant index, for the type named `what`.
    pub fn variant(&mut self, what: &'static str, count: u8) -> Result<u8, WireError> {
        match self.byte()? {
            i if i < count => Ok(i),
            i => Err(WireError::Variant {
                what,
                index: u64::from(i),
            }),
        }
    }
}

impl Wire for u64 {
    fn put(&self, w: &mut Writer) {
        w.varint(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<u64, WireError> {
        r.varint()
    }
}

impl Wire for u32 {
    fn put(&self, w: &mut Writer) {
        w.varint(u64::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<u32, WireError> {
        let at = r.at;
        u32::try_from(r.varint()?).map_err(|_| WireError::Overflow(at))
    }
}

impl Wire for i64 {
    fn put(&self, w: &mut Writer) {
        w.varint(((*self << 1) ^ (*self >> 63)) as u64);
    }
    fn get(r: &mut Reader<'_>) -> Result<i64, WireError> {
        let z = r.varint()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }
}

impl Wire for i32 {
    fn put(&self, w: &mut Writer) {
        i64::from(*self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<i32, WireError> {
        let at = r.at;
        i32::try_from(i64::get(r)?).map_err(|_| WireError::Overflow(at))
    }
}

impl Wire for f64 {
    fn put(&self, w: &mut Writer) {
        w.bytes.extend_from_slice(&self.to_le_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<f64, WireError> {
        let mut b = [0; 8];
        b.copy_from_slice(r.take(8)?);
        Ok(f64::from_le_bytes(b))
    }
}

impl Wire for bool {
    fn put(&self, w: &mut Writer) {
        w.byte(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<bool, WireError> {
        Ok(r.variant("bool", 2)? == 1)
    }
}

impl Wire for String {
    fn put(&self, w: &mut Writer) {
        w.varint(self.len() as u64);
        w.bytes.extend_from_slice(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<String, WireError> {
        let n = r.count()?;
        let at = r.at;
        let bytes = r.take(n)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| WireError::NotUtf8(at))
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
    fn get(r: &mut Reader<'_>) -> Result<Option<T>, WireError> {
        match r.variant("Option", 2)? {
            0 => Ok(None),
            _ => T::get(r).map(Some),
        }
    }
}

impl<T: Wire> Wire for Box<T> {
    fn put(&self, w: &mut Writer) {
        (**self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Box<T>, WireError> {
        T::get(r).map(Box::new)
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.varint(self.len() as u64);
        for item in self {
            item.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Vec<T>, WireError> {
        // Every item takes at least one byte, so the length is bounded by the bytes left.
        let n = r.count()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::get(r)?);
        }
        Ok(out)
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
    fn get(r: &mut Reader<'_>) -> Result<BTreeMap<K, V>, WireError> {
        let n = r.count()?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let k = K::get(r)?;
            let v = V::get(r)?;
            if out.contains_key(&k) {
                return Err(WireError::Duplicate(k.label().to_owned()));
            }
            out.insert(k, v);
        }
        Ok(out)
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
            fn get(r: &mut Reader<'_>) -> Result<$t, WireError> {
                Ok($t { $($f: Wire::get(r)?),* })
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
            fn get(r: &mut Reader<'_>) -> Result<$t, WireError> {
                let i = r.byte()?;
                [$($t::$v),*]
                    .into_iter()
                    .find(|v| *v as u8 == i)
                    .ok_or(WireError::Variant { what: stringify!($t), index: u64::from(i) })
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
            fn get(r: &mut Reader<'_>) -> Result<$t, WireError> {
                Wire::get(r).map($t)
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
        assert_eq!(T::get(&mut r).unwrap(), v);
        r.finish().unwrap();
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
        let get = |bytes: &[u8]| u32::get(&mut Reader::new(bytes)).unwrap_err();
        assert_eq!(get(&[0x80]), WireError::Truncated(1));
        assert_eq!(get(&[0xff, 0xff, 0xff, 0xff, 0x7f]), WireError::Overflow(0));
        let too_long = [0xff; 11];
        assert_eq!(
            u64::get(&mut Reader::new(&too_long)).unwrap_err(),
            WireError::Overflow(0)
        );
        // A list claiming more items than bytes left allocates nothing.
        let huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(
            <Vec<u64> as Wire>::get(&mut Reader::new(&huge)).unwrap_err(),
            WireError::Truncated(5)
        );
        assert_eq!(
            String::get(&mut Reader::new(&[2, 0xc3, 0x28])).unwrap_err(),
            WireError::NotUtf8(1)
        );
        let twice = [2, 1, b'a', 1, 1, b'a', 2];
        assert_eq!(
            <BTreeMap<String, u64> as Wire>::get(&mut Reader::new(&twice)).unwrap_err(),
            WireError::Duplicate("a".into())
        );
        assert_eq!(
            bool::get(&mut Reader::new(&[2])).unwrap_err(),
            WireError::Variant {
                what: "bool",
                index: 2
            }
        );
    }
}
