import RedisClient

/// A condition a write is made under, checked inside the script that makes the write: when it
/// does not hold, nothing is written and the call throws `QueueError.refused`.
///
/// Two conditions, either or both: a hash field that must hold a given value (an owner's
/// generation: writes for something deleted, or deleted and created again, are refused), and a
/// reservation that must still be held and unfinished (a job's own: a job whose lease was lost
/// or whose slot was closed by a purge writes nothing more).
public struct QueueGuard: Sendable, Equatable {
    /// A hash field that must exist with this value (the hash itself must exist).
    public struct Field: Sendable, Equatable {
        public var key: String
        public var field: String
        public var value: String

        public init(key: String, field: String, value: String) {
            self.key = key
            self.field = field
            self.value = value
        }
    }

    /// A reservation that must still be held: the worker's batch lease and the slot unfinished.
    public struct Reservation: Sendable, Equatable {
        public var worker: String
        public var token: Int64
        public var slot: Int

        public init(worker: String, token: Int64, slot: Int) {
            self.worker = worker
            self.token = token
            self.slot = slot
        }
    }

    public var field: Field?
    public var reservation: Reservation?

    public init(field: Field? = nil, reservation: Reservation? = nil) {
        self.field = field
        self.reservation = reservation
    }

    /// No condition: the write always happens.
    public static let none = QueueGuard()

    /// Only while hash `key` exists with `field` equal to `value`.
    public static func field(_ key: String, _ field: String, equals value: String) -> QueueGuard {
        QueueGuard(field: Field(key: key, field: field, value: value))
    }

    /// Both conditions: this one's field and `job`'s reservation by `worker`.
    public func held(by worker: String, _ job: ReservedJob) -> QueueGuard {
        var g = self
        g.reservation = Reservation(worker: worker, token: job.token, slot: job.slot)
        return g
    }

    /// The six script arguments every guarded script takes at ARGV[3..8].
    func arguments(_ keys: QueueKeys) -> [RedisArgument] {
        var out: [RedisArgument] = ["", "", "", "", "", ""]
        if let f = field { out[0...2] = [.string(f.key), .string(f.field), .string(f.value)] }
        if let r = reservation {
            out[3...5] = [.string(keys.active(r.worker)), .int(Int(r.token)), .int(r.slot)]
        }
        return out
    }
}

/// One write a guarded call makes (a whitelisted command on one key of the namespace).
public struct GuardedWrite: Sendable, Equatable {
    public var command: String
    public var key: String
    public var arguments: [RedisArgument]

    /// Commands a guarded write may use.
    public static let commands: Set<String> = ["SET", "HSET", "HSETNX", "HINCRBY", "HDEL", "RPUSH", "DEL", "PEXPIRE"]

    public init(_ command: String, _ key: String, _ arguments: [RedisArgument] = []) {
        self.command = command
        self.key = key
        self.arguments = arguments
    }

    public static func set(_ key: String, _ bytes: [UInt8]) -> GuardedWrite {
        GuardedWrite("SET", key, [.bytes(bytes)])
    }
    public static func hset(_ key: String, _ pairs: [(String, RedisArgument)]) -> GuardedWrite {
        GuardedWrite("HSET", key, pairs.flatMap { [RedisArgument.string($0.0), $0.1] })
    }
    public static func hsetnx(_ key: String, _ field: String, _ value: String) -> GuardedWrite {
        GuardedWrite("HSETNX", key, [.string(field), .string(value)])
    }
    public static func hincrby(_ key: String, _ field: String, _ by: Int) -> GuardedWrite {
        GuardedWrite("HINCRBY", key, [.string(field), .int(by)])
    }
    public static func hdel(_ key: String, _ fields: [String]) -> GuardedWrite {
        GuardedWrite("HDEL", key, fields.map { .string($0) })
    }
    public static func rpush(_ key: String, _ bytes: [UInt8]) -> GuardedWrite {
        GuardedWrite("RPUSH", key, [.bytes(bytes)])
    }
    public static func del(_ key: String) -> GuardedWrite { GuardedWrite("DEL", key) }
    public static func pexpire(_ key: String, _ d: Duration) -> GuardedWrite {
        GuardedWrite("PEXPIRE", key, [.int(Int(d.milliseconds))])
    }
}
