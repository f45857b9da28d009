//! The little-endian encoding of a checkpoint's records: fixed-width
//! integers and floats, and strings and lists behind a u32 length. A reader
//! that runs past the end, or finds a string that is not UTF-8, says so; the
//! record's checksum has been verified before it is read, so that means a
//! record this version did not write.

/// Appends values to a record's payload.
#[derive(Default)]
pub struct Out(pub Vec<u8>);

impl Out {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A count of what follows (lists never reach 2^32 entries in a record).
    pub fn len(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).expect("a list of fewer than 2^32 entries"))
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
        self
    }
}

/// Why a record could not be read.
#[derive(Debug)]
pub struct Short;

/// Reads values from a record's payload.
pub struct In<'a>(pub &'a [u8]);

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        if self.0.len() < n {
            return Err(Short);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    pub fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, Short> {
        self.array().map(u32::from_le_bytes)
    }
    pub fn i32(&mut self) -> Result<i32, Short> {
        self.array().map(i32::from_le_bytes)
    }
    pub fn u64(&mut self) -> Result<u64, Short> {
        self.array().map(u64::from_le_bytes)
    }
    pub fn i64(&mut self) -> Result<i64, Short> {
        self.array().map(i64::from_le_bytes)
    }
    pub fn f64(&mut self) -> Result<f64, Short> {
        self.array().map(f64::from_le_bytes)
    }
    /// A list's length, no more than the bytes left could hold (each entry
    /// takes `at_least` bytes): a damaged length never allocates much.
    pub fn len(&mut self, at_least: usize) -> Result<usize, Short> {
        let n = self.u32()? as usize;
        if n.saturating_mul(at_least.max(1)) > self.0.len() {
            return Err(Short);
        }
        Ok(n)
    }
    pub fn str(&mut self) -> Result<&'a str, Short> {
        let n = self.len(1)?;
        std::str::from_utf8(self.take(n)?).map_err(|_| Short)
    }
    /// Nothing may be left.
    pub fn end(&self) -> Result<(), Short> {
        if self.0.is_empty() { Ok(()) } else { Err(Short) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_short_input_is_an_error() {
        let mut out = Out::default();
        out.u8(7).u32(1 << 31).i32(-5).u64(u64::MAX).i64(i64::MIN).f64(-0.25).str("#日本").len(0);
        let bytes = out.0;
        let mut r = In(&bytes);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u32().unwrap(), 1 << 31);
        assert_eq!(r.i32().unwrap(), -5);
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert_eq!(r.i64().unwrap(), i64::MIN);
        assert_eq!(r.f64().unwrap(), -0.25);
        assert_eq!(r.str().unwrap(), "#日本");
        assert_eq!(r.len(1).unwrap(), 0);
        assert!(r.end().is_ok());
        for cut in 0..bytes.len() {
            let mut r = In(&bytes[..cut]);
            let all = (|| -> Result<(), Short> {
                r.u8()?;
                r.u32()?;
                r.i32()?;
                r.u64()?;
                r.i64()?;
                r.f64()?;
                r.str()?;
                r.len(1)?;
                Ok(())
            })();
            assert!(all.is_err(), "cut at {cut}");
        }
        // A length larger than what is left is refused before anything is taken.
        assert!(In(&[255, 255, 255, 255, 1]).str().is_err());
        assert!(In(&[0xff, 0xfe]).str().is_err());
    }
}
