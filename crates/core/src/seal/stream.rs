//! Sealing a long stream (an index snapshot holding names) in chunks, so
//! that neither side holds the whole in memory twice. Each stream has a
//! fresh random data key, wrapped by the current KEK for its purpose; chunk
//! `i` is sealed with the nonce `i` and a flag for the last one, so chunks
//! cannot be dropped, reordered, repeated or cut off without the reader
//! refusing the stream. Without the key file the bytes say nothing.

use std::io::{self, Read, Write};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit, Nonce};

use crate::error::Error;

const MAGIC: &[u8; 8] = b"TFSTRM01";
/// Plain bytes per chunk.
const CHUNK: usize = 1 << 20;
const TAG: usize = 16;

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("sealed stream: {what}"))
}

fn nonce(counter: u64, last: bool) -> Nonce<Aes256Gcm> {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_le_bytes());
    n[8] = u8::from(last);
    Nonce::<Aes256Gcm>::from(n)
}

/// What binds a chunk to its stream's purpose.
fn aad(purpose: &str) -> Vec<u8> {
    format!("taskforce/stream\0{purpose}").into_bytes()
}

/// Seals what is written to it; [`SealingWriter::finish`] writes the last chunk.
pub struct SealingWriter<W: Write> {
    inner: W,
    cipher: Aes256Gcm,
    aad: Vec<u8>,
    buf: Vec<u8>,
    counter: u64,
}

impl<W: Write> SealingWriter<W> {
    /// Starts a stream for `purpose` (also the wrapped key's scope), its key
    /// wrapped by the KEK of `kek_version`.
    pub fn new(mut inner: W, kek_version: u32, kek: &[u8; 32], purpose: &str) -> Result<Self, Error> {
        let key = super::new_data_key()?;
        let wrapped = super::wrap(kek, kek_version, purpose, 1, &key)?;
        let io = |e: io::Error| Error::Internal(format!("writing a sealed stream: {e}"));
        inner.write_all(MAGIC).map_err(io)?;
        inner.write_all(&kek_version.to_le_bytes()).map_err(io)?;
        inner.write_all(&(wrapped.len() as u16).to_le_bytes()).map_err(io)?;
        inner.write_all(&wrapped).map_err(io)?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| Error::Internal("bad key length".into()))?;
        Ok(Self { inner, cipher, aad: aad(purpose), buf: Vec::with_capacity(CHUNK + TAG), counter: 0 })
    }

    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        self.cipher
            .encrypt_in_place(&nonce(self.counter, last), &self.aad, &mut self.buf)
            .map_err(|_| bad("encryption failed"))?;
        self.inner.write_all(&[u8::from(last)])?;
        self.inner.write_all(&(self.buf.len() as u32).to_le_bytes())?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.counter += 1;
        Ok(())
    }

    /// Seals the rest as the last chunk and gives the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal_chunk(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for SealingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.seal_chunk(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Opens a stream [`SealingWriter`] wrote; any damage is an error, and the
/// end of the stream comes only after its last chunk checked out.
pub struct OpeningReader<R: Read> {
    inner: R,
    cipher: Aes256Gcm,
    aad: Vec<u8>,
    buf: Vec<u8>,
    at: usize,
    counter: u64,
    done: bool,
}

impl<R: Read> OpeningReader<R> {
    /// Opens a stream for `purpose`; `kek` gives the KEK of a version
    /// (`None` when the key file no longer holds it).
    pub fn new(mut inner: R, purpose: &str, kek: impl Fn(u32) -> Option<[u8; 32]>) -> io::Result<Self> {
        let mut magic = [0u8; 8];
        inner.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad("not a sealed stream of this version"));
        }
        let mut v = [0u8; 4];
        inner.read_exact(&mut v)?;
        let version = u32::from_le_bytes(v);
        let mut n = [0u8; 2];
        inner.read_exact(&mut n)?;
        let mut wrapped = vec![0u8; usize::from(u16::from_le_bytes(n))];
        inner.read_exact(&mut wrapped)?;
        let kek = kek(version).ok_or_else(|| bad("its key-encryption key is no longer in the key file"))?;
        let key = super::unwrap_key(&kek, version, purpose, 1, &wrapped)
            .ok_or_else(|| bad("its key does not open with the key file"))?;
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| bad("bad key length"))?;
        Ok(Self { inner, cipher, aad: aad(purpose), buf: Vec::new(), at: 0, counter: 0, done: false })
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        let mut head = [0u8; 5];
        self.inner.read_exact(&mut head)?;
        let last = match head[0] {
            0 => false,
            1 => true,
            _ => return Err(bad("damaged")),
        };
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(TAG..=CHUNK + TAG).contains(&len) {
            return Err(bad("damaged"));
        }
        self.buf.resize(len, 0);
        self.inner.read_exact(&mut self.buf)?;
        self.cipher
            .decrypt_in_place(&nonce(self.counter, last), &self.aad, &mut self.buf)
            .map_err(|_| bad("damaged"))?;
        self.at = 0;
        self.counter += 1;
        if last {
            self.done = true;
            if self.inner.read(&mut [0u8; 1])? != 0 {
                return Err(bad("trailing bytes"));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for OpeningReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEK: [u8; 32] = [7; 32];

    fn sealed(plain: &[u8]) -> Vec<u8> {
        let mut w = SealingWriter::new(Vec::new(), 3, &KEK, "test").unwrap();
        // Written in odd pieces, as a serialiser does.
        for piece in plain.chunks(7_777) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn opened(bytes: &[u8], purpose: &str) -> io::Result<Vec<u8>> {
        let mut r = OpeningReader::new(bytes, purpose, |v| (v == 3).then_some(KEK))?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_sealed_stream_opens_whole_and_only_whole() {
        let plain: Vec<u8> = (0..(2 * CHUNK + 12_345)).map(|i| (i * 31 % 251) as u8).collect();
        let bytes = sealed(&plain);
        assert_eq!(opened(&bytes, "test").unwrap(), plain);
        assert!(opened(&sealed(b""), "test").unwrap().is_empty());
        // No plain run of it shows through.
        assert!(!bytes.windows(64).any(|w| w == &plain[CHUNK..CHUNK + 64]));
        assert!(opened(&bytes, "another purpose").is_err(), "bound to its purpose");
        let at = |i: usize| {
            let mut b = bytes.clone();
            b[i] ^= 1;
            b
        };
        for i in [0, 9, 20, 60, bytes.len() / 2, bytes.len() - 1] {
            assert!(opened(&at(i), "test").is_err(), "a flipped byte at {i}");
        }
        // Cut after a whole chunk: the last one is missing.
        let first = 8 + 4 + 2 + u16::from_le_bytes([bytes[12], bytes[13]]) as usize + 5 + CHUNK + TAG;
        assert!(opened(&bytes[..first], "test").is_err(), "cut off");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(opened(&longer, "test").is_err(), "trailing bytes");
        let no_key = OpeningReader::new(&bytes[..], "test", |_| None);
        assert!(no_key.is_err(), "its KEK is gone");
    }
}
