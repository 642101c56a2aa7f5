#include "murphy/lock/lock_command.h"

#include <limits>
#include <type_traits>

namespace murphy::lock {
namespace {

// Type bytes on the wire; never renumber.
enum class CommandType : uint8_t {
  kGrantLease = 1,
  kKeepAlive = 2,
  kRevokeLease = 3,
  kAcquire = 4,
  kRelease = 5,
  kExpireLease = 6,
  kExpireWait = 7,
  kCheckpointLeases = 8,
  kCancelWait = 9,
};

void PutRequest(ByteWriter* writer, const RequestId& request) {
  writer->PutVarint(request.client.value());
  writer->PutVarint(request.sequence);
}

void PutDuration(ByteWriter* writer, Duration duration) { writer->PutSignedVarint(duration.nanoseconds()); }

bool GetRequest(ByteReader* reader, RequestId* request) {
  uint64_t client = 0;
  if (!reader->GetVarint(&client)) return false;
  if (client > std::numeric_limits<NodeId::rep_type>::max()) return false;
  request->client = NodeId(static_cast<NodeId::rep_type>(client));
  return reader->GetVarint(&request->sequence);
}

template <typename Id>
bool GetId(ByteReader* reader, Id* id) {
  uint64_t value = 0;
  if (!reader->GetVarint(&value)) return false;
  *id = Id(value);
  return true;
}

bool GetDuration(ByteReader* reader, Duration* duration) {
  int64_t nanoseconds = 0;
  if (!reader->GetSignedVarint(&nanoseconds)) return false;
  *duration = Nanoseconds(nanoseconds);
  return true;
}

bool GetName(ByteReader* reader, std::string* name) { return reader->GetString(kMaxEncodedNameBytes, name); }

struct Encoder {
  ByteWriter* writer;
  void operator()(const GrantLease& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kGrantLease));
    PutRequest(writer, command.request);
    PutDuration(writer, command.ttl);
  }
  void operator()(const KeepAlive& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kKeepAlive));
    PutRequest(writer, command.request);
    writer->PutVarint(command.lease.value());
  }
  void operator()(const RevokeLease& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kRevokeLease));
    PutRequest(writer, command.request);
    writer->PutVarint(command.lease.value());
  }
  void operator()(const Acquire& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kAcquire));
    PutRequest(writer, command.request);
    writer->PutString(command.lock);
    writer->PutVarint(command.lease.value());
    writer->PutU8(static_cast<uint8_t>(command.mode));
    PutDuration(writer, command.wait_timeout);
  }
  void operator()(const Release& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kRelease));
    PutRequest(writer, command.request);
    writer->PutString(command.lock);
    writer->PutVarint(command.lease.value());
  }
  void operator()(const CancelWait& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kCancelWait));
    PutRequest(writer, command.request);
    writer->PutString(command.lock);
    writer->PutVarint(command.lease.value());
  }
  void operator()(const ExpireLease& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kExpireLease));
    writer->PutVarint(command.lease.value());
    writer->PutVarint(command.renewals);
  }
  void operator()(const ExpireWait& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kExpireWait));
    writer->PutString(command.lock);
    writer->PutVarint(command.lease.value());
    writer->PutVarint(command.ticket);
  }
  void operator()(const CheckpointLeases& command) const {
    writer->PutU8(static_cast<uint8_t>(CommandType::kCheckpointLeases));
    writer->PutVarint(command.checkpoints.size());
    for (const LeaseCheckpoint& checkpoint : command.checkpoints) {
      writer->PutVarint(checkpoint.lease.value());
      writer->PutVarint(checkpoint.renewals);
      PutDuration(writer, checkpoint.remaining);
    }
  }
};

Result<Command> DecodeBody(CommandType type, ByteReader* reader) {
  switch (type) {
    case CommandType::kGrantLease: {
      GrantLease command;
      if (!GetRequest(reader, &command.request) || !GetDuration(reader, &command.ttl)) break;
      return Command(std::move(command));
    }
    case CommandType::kKeepAlive: {
      KeepAlive command;
      if (!GetRequest(reader, &command.request) || !GetId(reader, &command.lease)) break;
      return Command(std::move(command));
    }
    case CommandType::kRevokeLease: {
      RevokeLease command;
      if (!GetRequest(reader, &command.request) || !GetId(reader, &command.lease)) break;
      return Command(std::move(command));
    }
    case CommandType::kAcquire: {
      Acquire command;
      uint8_t mode = 0;
      if (!GetRequest(reader, &command.request) || !GetName(reader, &command.lock) ||
          !GetId(reader, &command.lease) || !reader->GetU8(&mode) || !GetDuration(reader, &command.wait_timeout)) {
        break;
      }
      if (mode > kMaxAcquireMode) return InvalidArgumentError("lock command: unknown acquire mode");
      command.mode = static_cast<AcquireMode>(mode);
      return Command(std::move(command));
    }
    case CommandType::kRelease: {
      Release command;
      if (!GetRequest(reader, &command.request) || !GetName(reader, &command.lock) ||
          !GetId(reader, &command.lease)) {
        break;
      }
      return Command(std::move(command));
    }
    case CommandType::kCancelWait: {
      CancelWait command;
      if (!GetRequest(reader, &command.request) || !GetName(reader, &command.lock) ||
          !GetId(reader, &command.lease)) {
        break;
      }
      return Command(std::move(command));
    }
    case CommandType::kExpireLease: {
      ExpireLease command;
      if (!GetId(reader, &command.lease) || !reader->GetVarint(&command.renewals)) break;
      return Command(std::move(command));
    }
    case CommandType::kExpireWait: {
      ExpireWait command;
      if (!GetName(reader, &command.lock) || !GetId(reader, &command.lease) || !reader->GetVarint(&command.ticket)) {
        break;
      }
      return Command(std::move(command));
    }
    case CommandType::kCheckpointLeases: {
      uint64_t count = 0;
      if (!reader->GetVarint(&count)) break;
      if (count > kMaxCheckpointsPerCommand) return InvalidArgumentError("lock command: too many checkpoints");
      // Each checkpoint takes at least 3 bytes: a lying count allocates nothing.
      if (count > reader->remaining() / 3) break;
      CheckpointLeases command;
      command.checkpoints.resize(count);
      for (LeaseCheckpoint& checkpoint : command.checkpoints) {
        if (!GetId(reader, &checkpoint.lease) || !reader->GetVarint(&checkpoint.renewals) ||
            !GetDuration(reader, &checkpoint.remaining)) {
          return InvalidArgumentError("lock command: malformed checkpoint");
        }
      }
      return Command(std::move(command));
    }
  }
  return InvalidArgumentError("lock command: malformed body");
}

}  // namespace

Bytes EncodeCommand(const Command& command) {
  ByteWriter writer;
  writer.PutU8(kCommandEncodingVersion);
  std::visit(Encoder{&writer}, command);
  return writer.Take();
}

Result<Command> DecodeCommand(std::span<const uint8_t> bytes) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  if (!reader.GetU8(&version)) return InvalidArgumentError("lock command: empty");
  if (version != kCommandEncodingVersion) return UnimplementedError("lock command: unknown encoding version");
  uint8_t type = 0;
  if (!reader.GetU8(&type)) return InvalidArgumentError("lock command: truncated type");
  if (type < static_cast<uint8_t>(CommandType::kGrantLease) ||
      type > static_cast<uint8_t>(CommandType::kCancelWait)) {
    return InvalidArgumentError("lock command: unknown type");
  }
  Result<Command> command = DecodeBody(static_cast<CommandType>(type), &reader);
  if (!command.ok()) return command;
  if (!reader.at_end()) return InvalidArgumentError("lock command: trailing bytes");
  return command;
}

void PutResult(ByteWriter* writer, const CommandResult& result) {
  writer->PutU8(static_cast<uint8_t>(result.status.code()));
  writer->PutString(result.status.message().substr(0, kMaxEncodedMessageBytes));
  writer->PutVarint(result.lease.value());
  PutDuration(writer, result.ttl);
  writer->PutU8(static_cast<uint8_t>(result.state));
  writer->PutVarint(result.token.value());
  writer->PutVarint(result.position);
  writer->PutVarint(result.ticket);
}

bool GetResult(ByteReader* reader, CommandResult* result) {
  uint8_t code = 0;
  std::string message;
  uint8_t state = 0;
  if (!reader->GetU8(&code) || !reader->GetString(kMaxEncodedMessageBytes, &message)) return false;
  if (code >= kStatusCodeCount) return false;
  // An OK status carries no message; anything else is a forgery or corruption.
  if (code == static_cast<uint8_t>(StatusCode::kOk) && !message.empty()) return false;
  if (!GetId(reader, &result->lease) || !GetDuration(reader, &result->ttl) || !reader->GetU8(&state) ||
      !GetId(reader, &result->token) || !reader->GetVarint(&result->position) ||
      !reader->GetVarint(&result->ticket)) {
    return false;
  }
  if (state > static_cast<uint8_t>(AcquireState::kWaiting)) return false;
  result->state = static_cast<AcquireState>(state);
  result->status = code == static_cast<uint8_t>(StatusCode::kOk) ? Status::Ok()
                                                                  : Status(static_cast<StatusCode>(code), message);
  return true;
}

Bytes EncodeResult(const CommandResult& result) {
  ByteWriter writer;
  writer.PutU8(kCommandEncodingVersion);
  PutResult(&writer, result);
  return writer.Take();
}

Result<CommandResult> DecodeResult(std::span<const uint8_t> bytes) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  if (!reader.GetU8(&version)) return InvalidArgumentError("lock result: empty");
  if (version != kCommandEncodingVersion) return UnimplementedError("lock result: unknown encoding version");
  CommandResult result;
  if (!GetResult(&reader, &result)) return InvalidArgumentError("lock result: malformed");
  if (!reader.at_end()) return InvalidArgumentError("lock result: trailing bytes");
  return result;
}

std::string_view EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kGranted:
      return "granted";
    case EventKind::kLost:
      return "lost";
    case EventKind::kWaitStarted:
      return "wait-started";
    case EventKind::kWaitEnded:
      return "wait-ended";
    case EventKind::kLeaseRenewed:
      return "lease-renewed";
    case EventKind::kLeaseEnded:
      return "lease-ended";
  }
  return "unknown";
}

std::string_view EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kNone:
      return "none";
    case EndReason::kReleased:
      return "released";
    case EndReason::kLeaseExpired:
      return "lease-expired";
    case EndReason::kLeaseRevoked:
      return "lease-revoked";
    case EndReason::kWaitTimedOut:
      return "wait-timed-out";
  }
  return "unknown";
}

}  // namespace murphy::lock
