//! The deconfliction index written to and read back from bytes, so a server
//! restarts in seconds instead of reading every event again. The bytes end
//! with a SHA-256 of all before them; anything that does not check out is
//! refused whole (the caller then rebuilds from the database): an index that
//! silently lost events would miss conflicts.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::engine::Index;

// 3: spans keyed by a number, not an id in text.
const MAGIC: &[u8; 8] = b"TFDXIDX3";

/// What the snapshot was taken at, to check it against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The last event revision the index holds.
    pub rev: u64,
    /// The store's key of the newest event then.
    pub last_key: u64,
    /// That event's id.
    pub last_id: String,
}

/// A writer that hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through.
struct Checked<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Little-endian writes of the few shapes the index has.
pub(crate) struct Out<'a>(pub(crate) &'a mut dyn Write);

impl Out<'_> {
    pub(crate) fn u64(&mut self, v: u64) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    pub(crate) fn i64(&mut self, v: i64) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    pub(crate) fn u32(&mut self, v: u32) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    pub(crate) fn f64(&mut self, v: f64) -> io::Result<()> {
        self.0.write_all(&v.to_le_bytes())
    }
    pub(crate) fn u8(&mut self, v: u8) -> io::Result<()> {
        self.0.write_all(&[v])
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.write_all(b)
    }
    pub(crate) fn str(&mut self, s: &str) -> io::Result<()> {
        self.u32(u32::try_from(s.len()).map_err(|_| bad("string too long"))?)?;
        self.0.write_all(s.as_bytes())
    }
}

/// Little-endian reads, refusing lengths beyond what is plausible.
pub(crate) struct In<'a>(pub(crate) &'a mut dyn Read);

pub(crate) fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("index snapshot: {what}"))
}

impl In<'_> {
    pub(crate) fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.0.read_exact(&mut b)?;
        Ok(b)
    }
    pub(crate) fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub(crate) fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub(crate) fn f64(&mut self) -> io::Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    pub(crate) fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub(crate) fn str(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        if n > 1 << 20 {
            return Err(bad("string too long"));
        }
        let mut b = vec![0u8; n];
        self.0.read_exact(&mut b)?;
        String::from_utf8(b).map_err(|_| bad("string not UTF-8"))
    }
    /// A count of items, each at least `min_bytes` long, at most `limit`.
    pub(crate) fn count(&mut self, limit: u64) -> io::Result<usize> {
        let n = self.u64()?;
        if n > limit {
            return Err(bad("count out of range"));
        }
        usize::try_from(n).map_err(|_| bad("count out of range"))
    }
}

/// Writes `index` with its stamp; the last 32 bytes are the SHA-256 of the rest.
pub fn write(index: &Index, stamp: &Stamp, w: &mut dyn Write) -> io::Result<()> {
    let mut h = Hashing { inner: w, hash: Sha256::new() };
    {
        let mut o = Out(&mut h);
        o.0.write_all(MAGIC)?;
        o.u64(stamp.rev)?;
        o.u64(stamp.last_key)?;
        o.str(&stamp.last_id)?;
        index.write_parts(&mut o)?;
    }
    let digest = h.hash.finalize();
    h.inner.write_all(&digest)?;
    h.inner.flush()
}

/// Reads a snapshot back; any damage, truncation or trailing bytes refuse it.
pub fn read(r: &mut dyn Read) -> io::Result<(Index, Stamp)> {
    let mut c = Checked { inner: r, hash: Sha256::new() };
    let (index, stamp) = {
        let mut i = In(&mut c);
        if &i.array::<8>()? != MAGIC {
            return Err(bad("not a snapshot of this version"));
        }
        let rev = i.u64()?;
        let last_key = i.u64()?;
        let last_id = i.str()?;
        (Index::read_parts(&mut i)?, Stamp { rev, last_key, last_id })
    };
    let want = c.hash.finalize();
    let mut got = [0u8; 32];
    c.inner.read_exact(&mut got)?;
    if got[..] != want[..] {
        return Err(bad("checksum does not match"));
    }
    if c.inner.read(&mut [0u8; 1])? != 0 {
        return Err(bad("trailing bytes"));
    }
    Ok((index, stamp))
}
