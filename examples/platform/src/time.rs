//! Calendar arithmetic for RTAS `get/set-time-of-day` (UTC, proleptic Gregorian; the
//! days-from-civil algorithm of H. Hinnant, as QEMU's `mktimegm` computes it).

use crate::env::TimeOfDay;

/// Days in `month` (1–12) of `year`.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether every field is in range (year 1970–9999, a real day of the month, …).
pub(crate) fn is_valid(t: &TimeOfDay) -> bool {
    (1970..=9999).contains(&t.year)
        && (1..=12).contains(&t.month)
        && t.day >= 1
        && t.day <= days_in_month(i64::from(t.year), t.month)
        && t.hour < 24
        && t.minute < 60
        && t.second < 60
        && t.nanos < 1_000_000_000
}

/// Seconds since 1970-01-01T00:00:00Z, or `None` when a field is out of range.
pub(crate) fn to_unix(t: &TimeOfDay) -> Option<i64> {
    if !is_valid(t) {
        return None;
    }
    let (m, d) = (i64::from(t.month), i64::from(t.day));
    let y = i64::from(t.year) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second))
}

/// The calendar time of `secs` seconds since the epoch (`nanos` carried through), or
/// `None` before 1970 or after 9999.
pub(crate) fn from_unix(secs: i64, nanos: u32) -> Option<TimeOfDay> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let t = TimeOfDay {
        year: u32::try_from(year).ok()?,
        month: u32::try_from(month).ok()?,
        day: u32::try_from(day).ok()?,
        hour: u32::try_from(rem / 3600).ok()?,
        minute: u32::try_from(rem % 3600 / 60).ok()?,
        second: u32::try_from(rem % 60).ok()?,
        nanos,
    };
    is_valid(&t).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tod(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> TimeOfDay {
        TimeOfDay {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos: 7,
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(to_unix(&tod(1970, 1, 1, 0, 0, 0)), Some(0));
        assert_eq!(to_unix(&tod(2000, 2, 29, 12, 0, 0)), Some(951_825_600));
        assert_eq!(to_unix(&tod(2025, 7, 1, 23, 59, 59)), Some(1_751_414_399));
        assert_eq!(from_unix(951_825_600, 7), Some(tod(2000, 2, 29, 12, 0, 0)));
        assert_eq!(from_unix(-1, 0), None);
    }

    #[test]
    fn round_trip_every_day_of_a_leap_cycle() {
        for day in 0..(4 * 366) {
            let s = 946_684_800 + day * 86_400 + 3723; // from 2000-01-01 01:02:03
            let t = from_unix(s, 0).unwrap();
            assert_eq!(to_unix(&t), Some(s), "{t:?}");
        }
    }

    #[test]
    fn out_of_range_fields() {
        for t in [
            tod(2023, 2, 29, 0, 0, 0),
            tod(2100, 2, 29, 0, 0, 0), // not a leap year: divisible by 100
            tod(2024, 13, 1, 0, 0, 0),
            tod(2024, 0, 1, 0, 0, 0),
            tod(2024, 4, 31, 0, 0, 0),
            tod(2024, 1, 0, 0, 0, 0),
            tod(2024, 1, 1, 24, 0, 0),
            tod(2024, 1, 1, 0, 60, 0),
            tod(2024, 1, 1, 0, 0, 60),
            tod(1969, 12, 31, 0, 0, 0),
            tod(u32::MAX, 1, 1, 0, 0, 0),
        ] {
            assert_eq!(to_unix(&t), None, "{t:?}");
        }
        assert!(to_unix(&tod(2024, 2, 29, 0, 0, 0)).is_some());
        // 2100-03-01 follows 2100-02-28.
        let feb28 = to_unix(&tod(2100, 2, 28, 0, 0, 0)).unwrap();
        assert_eq!(from_unix(feb28 + 86_400, 7), Some(tod(2100, 3, 1, 0, 0, 0)));
        let mut t = tod(2024, 1, 1, 0, 0, 0);
        t.nanos = 1_000_000_000;
        assert_eq!(to_unix(&t), None);
    }
}
