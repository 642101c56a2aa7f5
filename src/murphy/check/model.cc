#include "murphy/check/model.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "murphy/core/assert.h"

namespace murphy {
namespace {

// States are canonical byte strings: a sequence of records sorted by key, each
// record = varint key length, key bytes, then three zig-zag varints. A register has
// one record with an empty key; a map one record per present key; a lock one record
// per lock ever touched (free locks keep their last token).
struct Record {
  std::string_view key;
  int64_t first = 0;
  int64_t second = 0;
  int64_t third = 0;
};

void AppendVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendSigned(std::string* out, int64_t value) {
  AppendVarint(out, (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
}

uint64_t ParseVarint(std::string_view* in) {
  uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    MURPHY_ASSERT_MSG(!in->empty() && shift < 64, "corrupt model state");
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
}

int64_t ParseSigned(std::string_view* in) {
  const uint64_t raw = ParseVarint(in);
  return static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
}

void AppendRecord(std::string* out, const Record& record) {
  AppendVarint(out, record.key.size());
  out->append(record.key);
  AppendSigned(out, record.first);
  AppendSigned(out, record.second);
  AppendSigned(out, record.third);
}

Record ParseRecord(std::string_view* in) {
  Record record;
  const uint64_t size = ParseVarint(in);
  MURPHY_ASSERT_MSG(size <= in->size(), "corrupt model state");
  record.key = in->substr(0, size);
  in->remove_prefix(size);
  record.first = ParseSigned(in);
  record.second = ParseSigned(in);
  record.third = ParseSigned(in);
  return record;
}

std::optional<Record> Find(const ModelState& state, std::string_view key) {
  std::string_view in = state;
  while (!in.empty()) {
    const Record record = ParseRecord(&in);
    if (record.key == key) return record;
    if (record.key > key) break;
  }
  return std::nullopt;
}

// The state with `key`'s record replaced by `replacement` (or removed when null),
// keeping records sorted.
void Replace(const ModelState& state, std::string_view key, const Record* replacement, ModelState* next) {
  next->clear();
  std::string_view in = state;
  bool placed = replacement == nullptr;
  while (!in.empty()) {
    const Record record = ParseRecord(&in);
    if (!placed && record.key >= key) {
      AppendRecord(next, *replacement);
      placed = true;
    }
    if (record.key != key) AppendRecord(next, record);
  }
  if (!placed) AppendRecord(next, *replacement);
}

std::string Quote(std::string_view key) { return key.empty() ? std::string("\"\"") : std::string(key); }

class RegisterModel final : public Model {
 public:
  explicit RegisterModel(int64_t initial) : initial_(initial) {}

  std::string_view name() const override { return "register"; }

  Status Validate(const Input& input) const override {
    switch (input.kind) {
      case OperationKind::kRead:
      case OperationKind::kWrite:
      case OperationKind::kCompareAndSet:
        return Status::Ok();
      default:
        return InvalidArgumentError("the register model has no " + DescribeInput(input));
    }
  }

  ModelState Init() const override { return Encode(initial_); }

  bool Step(const ModelState& state, const Input& input, const Output* output, ModelState* next) const override {
    const int64_t value = Decode(state);
    switch (input.kind) {
      case OperationKind::kRead:
        if (output != nullptr && (!output->value.has_value() || *output->value != value)) return false;
        *next = state;
        return true;
      case OperationKind::kWrite:
        *next = Encode(input.value);
        return true;
      case OperationKind::kCompareAndSet: {
        const bool swaps = value == input.expected;
        if (output != nullptr && output->succeeded != swaps) return false;
        *next = swaps ? Encode(input.value) : state;
        return true;
      }
      default:
        MURPHY_UNREACHABLE();
    }
  }

  std::string DescribeState(const ModelState& state) const override {
    return "register=" + std::to_string(Decode(state));
  }

 private:
  static ModelState Encode(int64_t value) {
    ModelState state;
    AppendRecord(&state, Record{{}, value, 0, 0});
    return state;
  }
  static int64_t Decode(const ModelState& state) {
    std::string_view in = state;
    return ParseRecord(&in).first;
  }
  int64_t initial_;
};

class KeyValueModel final : public Model {
 public:
  explicit KeyValueModel(bool partition_by_key) : partition_by_key_(partition_by_key) {}

  std::string_view name() const override { return "kv"; }

  Status Validate(const Input& input) const override {
    switch (input.kind) {
      case OperationKind::kRead:
      case OperationKind::kWrite:
      case OperationKind::kCompareAndSet:
      case OperationKind::kDelete:
        return Status::Ok();
      default:
        return InvalidArgumentError("the key-value model has no " + DescribeInput(input));
    }
  }

  ModelState Init() const override { return {}; }

  bool Step(const ModelState& state, const Input& input, const Output* output, ModelState* next) const override {
    const std::optional<Record> current = Find(state, input.key);
    const bool present = current.has_value();
    const int64_t value = present ? current->first : 0;
    switch (input.kind) {
      case OperationKind::kRead:
        if (output != nullptr && (output->value.has_value() != present ||
                                  (present && *output->value != value))) {
          return false;
        }
        *next = state;
        return true;
      case OperationKind::kWrite: {
        const Record record{input.key, input.value, 0, 0};
        Replace(state, input.key, &record, next);
        return true;
      }
      case OperationKind::kCompareAndSet: {
        const bool swaps = present && value == input.expected;
        if (output != nullptr && output->succeeded != swaps) return false;
        if (!swaps) {
          *next = state;
          return true;
        }
        const Record record{input.key, input.value, 0, 0};
        Replace(state, input.key, &record, next);
        return true;
      }
      case OperationKind::kDelete:
        Replace(state, input.key, nullptr, next);
        return true;
      default:
        MURPHY_UNREACHABLE();
    }
  }

  std::string PartitionKey(const Input& input) const override {
    return partition_by_key_ ? input.key : std::string();
  }

  std::string DescribeState(const ModelState& state) const override {
    if (state.empty()) return "all keys absent";
    std::string text;
    std::string_view in = state;
    while (!in.empty()) {
      const Record record = ParseRecord(&in);
      if (!text.empty()) text += ", ";
      text += Quote(record.key) + "=" + std::to_string(record.first);
    }
    return text + " (other keys absent)";
  }

 private:
  bool partition_by_key_;
};

// Lock records: first = last token granted, second = 1 if held, third = owner.
// Steps acquire and release of the lock whose record is `record_key` (the lock name
// for the lock model, a prefixed name for the lock service model).
bool StepLock(const ModelState& state, std::string_view record_key, const Input& input, const Output* output,
              ModelState* next) {
  Record lock = Find(state, record_key).value_or(Record{record_key, 0, 0, 0});
  lock.key = record_key;
  const bool held = lock.second != 0;
  switch (input.kind) {
    case OperationKind::kAcquire: {
      if (output != nullptr && !output->succeeded) {
        // Refused: legal only while someone holds it; nothing changes.
        if (!held) return false;
        *next = state;
        return true;
      }
      if (held) {
        if (output != nullptr) return false;  // Granted while held: two holders.
        *next = state;                        // An info acquire while held was refused.
        return true;
      }
      int64_t token = lock.first + 1;  // The least constraining token for an info grant.
      if (output != nullptr) {
        if (!output->value.has_value() || *output->value <= lock.first) return false;
        token = *output->value;
      }
      lock.first = token;
      lock.second = 1;
      lock.third = input.value;
      Replace(state, record_key, &lock, next);
      return true;
    }
    case OperationKind::kRelease: {
      const bool holds = held && lock.third == input.value && lock.first == input.expected;
      if (output != nullptr && output->succeeded != holds) return false;
      if (!holds) {
        *next = state;
        return true;
      }
      lock.second = 0;
      lock.third = 0;
      Replace(state, record_key, &lock, next);
      return true;
    }
    case OperationKind::kRead: {
      // Holder and token exactly; the token of a free lock is the last one granted.
      if (output != nullptr) {
        const std::optional<int64_t> holder = held ? std::optional<int64_t>(lock.third) : std::nullopt;
        if (output->holder != holder || output->value.value_or(0) != lock.first) return false;
      }
      *next = state;
      return true;
    }
    default:
      MURPHY_UNREACHABLE();
  }
}

std::string DescribeLockRecord(const Record& record) {
  std::string text = record.second != 0 ? "held by owner " + std::to_string(record.third) + " with token "
                                        : std::string("free, last token ");
  return text + std::to_string(record.first);
}

class LockModel final : public Model {
 public:
  explicit LockModel(bool partition_by_lock) : partition_by_lock_(partition_by_lock) {}

  std::string_view name() const override { return "lock"; }

  Status Validate(const Input& input) const override {
    switch (input.kind) {
      case OperationKind::kAcquire:
      case OperationKind::kRelease:
        return Status::Ok();
      default:
        return InvalidArgumentError("the lock model has no " + DescribeInput(input));
    }
  }

  ModelState Init() const override { return {}; }

  bool Step(const ModelState& state, const Input& input, const Output* output, ModelState* next) const override {
    return StepLock(state, input.key, input, output, next);
  }

  bool IsReadOnly(const Input& input) const override {
    static_cast<void>(input);
    return false;
  }

  std::string PartitionKey(const Input& input) const override {
    return partition_by_lock_ ? input.key : std::string();
  }

  std::string DescribeState(const ModelState& state) const override {
    if (state.empty()) return "all locks free, no token granted";
    std::string text;
    std::string_view in = state;
    while (!in.empty()) {
      const Record record = ParseRecord(&in);
      if (!text.empty()) text += "; ";
      text += Quote(record.key) + ": " + DescribeLockRecord(record);
    }
    return text;
  }

 private:
  bool partition_by_lock_;
};

// Records are named "lock " + name (as in StepLock) or "resource " + name:
// first = max token, second = version (0: never written).
class LockServiceModel final : public Model {
 public:
  std::string_view name() const override { return "lock service"; }

  Status Validate(const Input& input) const override {
    switch (input.kind) {
      case OperationKind::kAcquire:
      case OperationKind::kRelease:
      case OperationKind::kRead:
      case OperationKind::kFencedWrite:
      case OperationKind::kFencedRead:
        return input.key.empty() ? InvalidArgumentError("the lock service model needs a name: " +
                                                        DescribeInput(input))
                                 : Status::Ok();
      default:
        return InvalidArgumentError("the lock service model has no " + DescribeInput(input));
    }
  }

  ModelState Init() const override { return {}; }

  bool Step(const ModelState& state, const Input& input, const Output* output, ModelState* next) const override {
    const std::string key = RecordKey(input);
    if (input.kind != OperationKind::kFencedWrite && input.kind != OperationKind::kFencedRead) {
      return StepLock(state, key, input, output, next);
    }
    Record resource = Find(state, key).value_or(Record{key, 0, 0, 0});
    resource.key = key;
    if (input.kind == OperationKind::kFencedRead) {
      if (output != nullptr) {
        const std::optional<int64_t> max_token =
            resource.second == 0 ? std::nullopt : std::optional<int64_t>(resource.first);
        if (output->value != max_token || (max_token.has_value() && output->version != resource.second)) {
          return false;
        }
      }
      *next = state;
      return true;
    }
    // A write is accepted iff its token is at least the max token; an accepted write
    // makes its token the max and increments the version; a rejected one changes
    // nothing and reports the max token and version as they are.
    const bool accepts = input.value >= resource.first;
    if (output != nullptr) {
      if (output->succeeded != accepts) return false;
      const int64_t version = accepts ? resource.second + 1 : resource.second;
      const int64_t max_token = accepts ? input.value : resource.first;
      if (output->value.value_or(0) != max_token || output->version != version) return false;
    }
    if (!accepts) {
      *next = state;
      return true;
    }
    resource.first = input.value;
    resource.second += 1;
    Replace(state, key, &resource, next);
    return true;
  }

  bool IsReadOnly(const Input& input) const override {
    return input.kind == OperationKind::kRead || input.kind == OperationKind::kFencedRead;
  }

  std::string PartitionKey(const Input& input) const override { return RecordKey(input); }

  std::string DescribeState(const ModelState& state) const override {
    if (state.empty()) return "all locks free and no resource written";
    std::string text;
    std::string_view in = state;
    while (!in.empty()) {
      const Record record = ParseRecord(&in);
      if (!text.empty()) text += "; ";
      text += std::string(record.key) + ": ";
      text += record.key.starts_with(kLockPrefix) ? DescribeLockRecord(record)
                                                  : "max token " + std::to_string(record.first) + ", version " +
                                                        std::to_string(record.second);
    }
    return text;
  }

 private:
  static constexpr std::string_view kLockPrefix = "lock ";
  static constexpr std::string_view kResourcePrefix = "resource ";
  static std::string RecordKey(const Input& input) {
    const bool fenced = input.kind == OperationKind::kFencedWrite || input.kind == OperationKind::kFencedRead;
    return std::string(fenced ? kResourcePrefix : kLockPrefix) + input.key;
  }
};

}  // namespace

std::unique_ptr<Model> MakeRegisterModel(int64_t initial) { return std::make_unique<RegisterModel>(initial); }
std::unique_ptr<Model> MakeKeyValueModel(bool partition_by_key) {
  return std::make_unique<KeyValueModel>(partition_by_key);
}
std::unique_ptr<Model> MakeLockModel(bool partition_by_lock) {
  return std::make_unique<LockModel>(partition_by_lock);
}
std::unique_ptr<Model> MakeLockServiceModel() { return std::make_unique<LockServiceModel>(); }

}  // namespace murphy
