import Foundation

/// A value bound to, or read from, a SQL statement. Values are always bound, never written into SQL text.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case boolean(Bool)
    case timestamp(Date)

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var int64Value: Int64? {
        switch self {
        case .integer(let i): i
        case .double(let d): Int64(exactly: d)
        case .boolean(let b): b ? 1 : 0
        case .text(let s): Int64(s)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    public var stringValue: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    /// A boolean, also from SQLite's 0 and 1.
    public var boolValue: Bool? {
        switch self {
        case .boolean(let b): b
        case .integer(let i): i != 0
        default: nil
        }
    }

    /// A timestamp, also from SQLite's text form.
    public var dateValue: Date? {
        switch self {
        case .timestamp(let d): d
        case .text(let s): SQLTimestamp.parse(s)
        default: nil
        }
    }
}

/// One result row: values by column position.
public struct SQLRow: Sendable {
    public var values: [SQLValue]

    public init(_ values: [SQLValue]) {
        self.values = values
    }

    public subscript(index: Int) -> SQLValue {
        values[index]
    }
}

/// SQLite keeps timestamps as UTC text, `2010-10-12 15:00:00.000`, which sorts and compares correctly and
/// matches the form of SQLite's own date functions.
public enum SQLTimestamp {
    public static func format(_ date: Date, separator: Character = " ", suffix: String = "") -> String {
        let millisecondsTotal = (date.timeIntervalSince1970 * 1000).rounded()
        var seconds = time_t((millisecondsTotal / 1000).rounded(.down))
        let milliseconds = Int(millisecondsTotal - Double(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let s = String(value)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2)
            + String(separator) + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2)
            + "." + pad(Int32(milliseconds), 3) + suffix
    }

    /// Parses `yyyy-mm-dd[ T]hh:mm:ss[.fff][Z|±hh:mm]`; no offset means UTC.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for i in start..<(start + count) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard b.count >= 19, let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45,
            let day = digits(8, 2), b[10] == 32 || b[10] == 84 || b[10] == 116, let hour = digits(11, 2), b[13] == 58,
            let minute = digits(14, 2), b[16] == 58, let second = digits(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, b[index] >= 48 && b[index] <= 57 {
                fraction += Double(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
            if index == start { return nil }
        }
        var offsetSeconds = 0
        if index < b.count {
            switch b[index] {
            case 90, 122:  // Z
                index += 1
            case 43, 45:  // + -
                let sign = b[index] == 45 ? -1 : 1
                guard let h = digits(index + 1, 2) else { return nil }
                var m = 0
                if index + 3 < b.count, b[index + 3] == 58 {
                    guard let mm = digits(index + 4, 2) else { return nil }
                    m = mm
                    index += 6
                } else if let mm = digits(index + 3, 2) {
                    m = mm
                    index += 5
                } else {
                    index += 3
                }
                offsetSeconds = sign * (h * 3600 + m * 60)
            default:
                return nil
            }
        }
        guard index == b.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        // timegm normalises impossible dates (31 February); refuse them instead.
        guard parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { return nil }
        return Date(timeIntervalSince1970: Double(epoch) + fraction - Double(offsetSeconds))
    }
}
