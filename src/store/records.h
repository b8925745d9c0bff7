// Plain records the store keeps and the service hands out (all strings UTF-8, timestamps Unix
// milliseconds UTC). Backend-neutral: no SQL here. See docs/storage.md for the tables behind them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/secret.h"

namespace stsvend::store {

// Credits and prices are decimal units with up to 4 decimal places, carried as integer
// ten-thousandths of a unit so that balances never drift.
using Units = std::int64_t;
inline constexpr Units kUnitScale = 10'000;

// "100.0", "0.5", "1.2345": always a decimal point and at least one decimal (NECTAR-V1 §1).
std::string format_units(Units units);
// "100", "100.0", "0.0001"; more than 4 decimals, signs, exponents → InvalidArgument(field).
Result<Units> parse_units(std::string_view text, std::string_view field);
// Nearest ten-thousandth of a JSON double (for numbers the API receives as native JSON numbers).
Result<Units> units_from_double(double value, std::string_view field);

// Timestamps are Unix milliseconds, UTC.
using Millis = std::int64_t;
// "2026-11-22T23:10:04Z" (the Nectar created_at form; milliseconds are dropped).
std::string format_millis(Millis ms);

struct User {
  std::string ref;
  std::string first_name;
  std::string last_name;
  std::string username;
  std::string email;
  std::string phone_no;
  std::optional<std::string> image_url;
  bool activated = true;
  bool is_admin = false;
  Millis created_at = 0;
};

struct Permission {
  int id = 0;
  std::string name;        // "Generate Token"
  std::string identifier;  // "generate_token"
  std::string ref;         // stable UUID per catalogue entry
  std::string notes;
};

struct Credential {
  std::string ref;
  std::string user_ref;
  std::string key;
  SecretBytes secret;  // the secret's UTF-8 bytes
  bool activated = true;
  std::vector<Permission> permissions;
  Millis created_at = 0;
};

struct PublicKey {
  std::string ref;
  std::string user_ref;
  std::string name;
  std::string key;  // bare base64 SPKI
  bool activated = true;
  Millis created_at = 0;
};

// Everything about a stored configuration except the vending key.
struct ConfigurationInfo {
  std::string ref;
  std::string user_ref;
  std::string name;
  bool activated = true;
  Millis created_at = 0;
  std::string configuration_type = "NATIVE";
  std::uint32_t supply_group_code = 0;
  int key_revision_no = 1;
  int tariff_index = 0;
  int key_type = 2;
  int key_expiry_no = 255;
  int base_date = 1993;
  std::string encryption_algorithm;              // "sta" | "dea" | "misty"
  std::string decoder_key_generation_algorithm;  // "01".."04"
  std::string issuer_identification_no;
  std::string token_carrier_type;
};

struct TokenRecord {
  std::string ref;
  std::string user_ref;
  std::string config_ref;
  std::string meter_no;  // DRN as sent
  std::string token_no;  // 20 digits
  std::string token_type;
  int token_class = 0;
  int subclass = 0;
  std::optional<std::uint32_t> tid;
  std::string set_ref;  // one per vend request; groups a key change set
  int set_index = 0;    // position in the set (0-based)
  std::string request_id;
  Millis created_at = 0;
  Units price = 0;  // what the token cost its user: the token is its own consumption record
};

// The meter registry: which configuration (key) a meter holds and its TID high-water mark.
struct Meter {
  std::string drn;
  std::string user_ref;
  std::string config_ref;  // the configuration the meter holds; empty after a KCT moved it
  std::optional<std::uint32_t> last_tid;
  int key_revision_no = 1;
  int key_type = 2;
  // After a key change token set: the parameters the meter now holds. A configuration is adopted
  // on the next vend only if its SGC, TI, KRN, KT (and IIN) match these.
  std::uint32_t supply_group_code = 0;
  int tariff_index = 0;
  int key_expiry_no = 255;
  std::string issuer_identification_no;
  bool moved_by_kct = false;
  int tid_epoch = 0;  // bumped when a roll-over key change clears the meter's TID store
  Millis created_at = 0;
};

struct Purchase {
  std::string ref;
  std::string user_ref;
  Units value = 0;
  Units units = 0;
  std::string currency;
  Millis purchase_date = 0;
};

// Derived from a token row (ref and token_ref are the token's ref, units its price).
struct Consumption {
  std::string ref;
  Units units = 0;
  Millis consumption_date = 0;
  std::string user_ref;
  std::string token_ref;
};

// A half-open window [from, to) of Unix milliseconds; an absent bound is unbounded.
struct TimeRange {
  std::optional<Millis> from;
  std::optional<Millis> to;
};

// Which notifications to list: those dated inside `range`, newest first, at most `newest` of them
// (all when absent).
struct NotificationQuery {
  TimeRange range;
  std::optional<std::uint32_t> newest;
};

struct CreditsSummary {
  Units credits = 0;
  std::vector<Purchase> purchases;        // filled by transactions(), empty from credits()
  std::vector<Consumption> consumptions;  // likewise
};

struct Notification {
  std::string ref;
  std::string subject;
  std::string text;
  std::string type;  // ADD_CONFIG, GENERATE_TOKEN, ...
  std::string user_ref;
  std::string affected;  // ref of the thing the notification is about
  bool read = false;
  std::optional<Millis> read_date;
  Millis created_date = 0;
};

// The rows of a listing handed over one at a time: the listings that grow with every vend (a tenant's
// transactions and notifications) are written out as they are read, never held whole.
template <typename Row>
using RowSink = std::function<void(const Row&)>;

// A tenant's transactions in the order they are written out: the balance, then the purchases, then
// the consumptions.
struct TransactionSink {
  std::function<void(Units balance)> balance;
  RowSink<Purchase> purchase;
  RowSink<Consumption> consumption;
};

// J24 open-source extras (NECTAR-V1 §3.8): subscribers, utilities and their meters. Tenant-scoped
// like everything else; unrelated to the vend registry (Meter above), which is keyed by DRN.
struct Subscriber {
  std::string ref;
  std::string user_ref;
  std::string name;
  std::string phone_no;
  bool activated = true;
  Millis created_at = 0;
  Millis updated_at = 0;
};

struct Utility {
  std::string ref;
  std::string user_ref;
  std::string name;
  std::string contact_phone_no;
  Units unit_charge = 0;
  bool activated = true;
  std::string config_ref;  // one of the owner's configurations
  Millis created_at = 0;
  Millis updated_at = 0;
};

// A J24 meter: a number, a type, and optionally the utility and subscriber it belongs to.
struct OssMeter {
  std::string ref;
  std::string user_ref;
  std::int64_t no = 0;
  bool activated = true;
  int meter_type = 1;  // 1 Electricity, 2 Water, 3 Gas (service::meter_types())
  std::optional<std::string> utility_ref;
  std::optional<std::string> subscriber_ref;
  Millis created_at = 0;
  Millis updated_at = 0;
};

}  // namespace stsvend::store
