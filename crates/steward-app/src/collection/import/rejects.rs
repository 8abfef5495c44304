//! The reject file: each refused row with its file line, its reason and the cells of its
//! columns that hold no personal data.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use super::{Place, Source};
use crate::AppError;

/// The reject file, and the input read a second time to name the lines its rows are on.
pub(super) struct Rejects {
    pub(super) out: BufWriter<File>,
    pub(super) input: File,
}

impl Rejects {
    /// The line of the file a record starts on. The csv reader counts lines up to where it
    /// began reading the record, which is before the line end of the line above when lines
    /// end in CRLF, and before any blank lines: those are skipped here in the file itself.
    pub(super) fn line(&mut self, at: Place) -> Result<u64, AppError> {
        self.input.seek(SeekFrom::Start(at.byte))?;
        let mut line = at.line;
        let mut buf = [0u8; 256];
        loop {
            let n = self.input.read(&mut buf)?;
            if n == 0 {
                return Ok(line);
            }
            for &b in &buf[..n] {
                match b {
                    b'\n' => line += 1,
                    b'\r' => {}
                    _ => return Ok(line),
                }
            }
        }
    }

    pub(super) fn write(&mut self, source: &Source, reason: &str) -> Result<(), AppError> {
        let line = self.line(source.at)?.to_string();
        let mut record = csv::ByteRecord::new();
        record.push_field(line.as_bytes());
        record.push_field(reason.as_bytes());
        record.extend(source.kept.iter());
        self.write_record(&record)
    }

    pub(super) fn write_record(&mut self, record: &csv::ByteRecord) -> Result<(), AppError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_byte_record(record).map_err(AppError::Csv)?;
        self.out
            .write_all(&w.into_inner().map_err(|e| e.into_error())?)?;
        Ok(())
    }
}
