//! An answer's bytes, whole or in parts shared with what they were copied from.
//!
//! Why: a daily range is mostly months of days already rendered ([`crate::rendered_days`]).
//! Copying them into one buffer before actix copies that buffer again into its write buffer
//! doubled the memory traffic of every new range (a year is some 150 KB), and was a fifth of
//! the server's time under random ranges. Held as parts, the months are referenced, not copied,
//! and actix reads each once as it writes.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, HttpResponseBuilder};

/// Parts shorter than this are copied rather than referenced: each part is written on its own.
const SHORTEST_SHARED_PART: usize = 2048;

/// The bytes of an answer.
#[derive(Debug, Clone)]
pub(crate) enum AnswerBody {
    /// In one piece.
    Whole(Bytes),
    /// In parts, sent one after another; `len` is their total.
    Parts { parts: Arc<[Bytes]>, len: usize },
}

impl From<Vec<u8>> for AnswerBody {
    fn from(bytes: Vec<u8>) -> AnswerBody {
        AnswerBody::Whole(Bytes::from(bytes))
    }
}

impl AnswerBody {
    /// Total length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            AnswerBody::Whole(bytes) => bytes.len(),
            AnswerBody::Parts { len, .. } => *len,
        }
    }

    /// The bytes in one piece (parts are copied together).
    pub(crate) fn joined(&self) -> Bytes {
        match self {
            AnswerBody::Whole(bytes) => bytes.clone(),
            AnswerBody::Parts { parts, len } => {
                let mut joined = Vec::with_capacity(*len);
                for part in parts.iter() {
                    joined.extend_from_slice(part);
                }
                Bytes::from(joined)
            }
        }
    }

    /// `response` with this body: the bytes, or the parts one after another with their total
    /// length.
    pub(crate) fn respond(&self, response: &mut HttpResponseBuilder) -> HttpResponse {
        match self {
            AnswerBody::Whole(bytes) => response.body(bytes.clone()),
            AnswerBody::Parts { parts, len } => response.body(PartsBody {
                parts: Arc::clone(parts),
                next: 0,
                len: *len,
            }),
        }
    }
}

/// An [`AnswerBody`] being sent.
#[derive(Debug)]
pub(crate) struct PartsBody {
    parts: Arc<[Bytes]>,
    next: usize,
    len: usize,
}

impl MessageBody for PartsBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len as u64)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Infallible>>> {
        let this = self.get_mut();
        let part = this.parts.get(this.next).cloned();
        this.next += 1;
        Poll::Ready(part.map(Ok))
    }
}

/// Writes an [`AnswerBody`]: bytes written into [`BodyWriter::open`], parts of other buffers
/// appended by reference ([`BodyWriter::append_shared`]).
#[derive(Debug)]
pub(crate) struct BodyWriter {
    parts: Vec<Bytes>,
    open: Vec<u8>,
    len: usize,
}

impl BodyWriter {
    /// A body whose first written bytes take up to `capacity`.
    pub(crate) fn with_capacity(capacity: usize) -> BodyWriter {
        BodyWriter {
            parts: Vec::new(),
            open: Vec::with_capacity(capacity),
            len: 0,
        }
    }

    /// The bytes being written after the last shared part.
    pub(crate) fn open(&mut self) -> &mut Vec<u8> {
        &mut self.open
    }

    /// Appends `part` without copying it (short parts are copied all the same).
    pub(crate) fn append_shared(&mut self, part: Bytes) {
        if part.len() < SHORTEST_SHARED_PART {
            self.open.extend_from_slice(&part);
            return;
        }
        self.close_open();
        self.len += part.len();
        self.parts.push(part);
    }

    fn close_open(&mut self) {
        if !self.open.is_empty() {
            let open = std::mem::take(&mut self.open);
            self.len += open.len();
            self.parts.push(Bytes::from(open));
        }
    }

    /// The body written.
    pub(crate) fn finish(mut self) -> AnswerBody {
        if self.parts.is_empty() {
            return AnswerBody::from(self.open);
        }
        self.close_open();
        AnswerBody::Parts {
            parts: Arc::from(self.parts),
            len: self.len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(body: &AnswerBody) -> Vec<u8> {
        let mut message = match body {
            AnswerBody::Whole(bytes) => return bytes.to_vec(),
            AnswerBody::Parts { parts, len } => PartsBody {
                parts: Arc::clone(parts),
                next: 0,
                len: *len,
            },
        };
        assert_eq!(message.size(), BodySize::Sized(body.len() as u64));
        let mut out = Vec::new();
        let waker = std::task::Waker::noop();
        let mut context = Context::from_waker(waker);
        while let Poll::Ready(Some(Ok(part))) = Pin::new(&mut message).poll_next(&mut context) {
            out.extend_from_slice(&part);
        }
        out
    }

    #[test]
    fn written_and_shared_parts_are_sent_in_order_and_joined_alike() {
        let shared = Bytes::from(vec![b'm'; SHORTEST_SHARED_PART]);
        let mut writer = BodyWriter::with_capacity(16);
        writer.open().extend_from_slice(b"{head");
        writer.append_shared(shared.clone());
        writer.append_shared(Bytes::from_static(b",short"));
        writer.append_shared(shared.clone());
        writer.open().extend_from_slice(b"}");
        let body = writer.finish();
        let mut expected = b"{head".to_vec();
        expected.extend_from_slice(&shared);
        expected.extend_from_slice(b",short");
        expected.extend_from_slice(&shared);
        expected.push(b'}');
        assert_eq!(body.len(), expected.len());
        assert_eq!(sent(&body), expected);
        assert_eq!(body.joined(), expected);
        match &body {
            AnswerBody::Parts { parts, .. } => {
                assert_eq!(parts.len(), 5, "the short part went into the written bytes");
                assert_eq!(parts[1].as_ptr(), shared.as_ptr(), "shared, not copied");
            }
            AnswerBody::Whole(_) => panic!("a body with shared parts is in parts"),
        }
    }

    #[test]
    fn a_body_only_written_is_whole() {
        let mut writer = BodyWriter::with_capacity(0);
        writer.open().extend_from_slice(b"{}");
        writer.append_shared(Bytes::from_static(b"short"));
        let body = writer.finish();
        assert!(matches!(&body, AnswerBody::Whole(bytes) if bytes == "{}short"));
    }
}
