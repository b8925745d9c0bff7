// Record → JSON mapping; NECTAR-V1.md §3.1–3.7.
#include "api/json_mapping.h"

#include <array>
#include <string>

#include "api/json_io.h"

#include "stsvend/sts/tid.h"
#include "stsvend/sts/types.h"

namespace stsvend::api {

namespace {

std::string zero_pad(std::uint64_t v, std::size_t width) {
  std::string s = std::to_string(v);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

}  // namespace

boost::json::value units_json(service::Units units) {
  return boost::json::value(static_cast<double>(units) / static_cast<double>(service::kUnitScale));
}

boost::json::object token_json(const service::TokenRecord& t, const boost::json::storage_ptr& sp) {
  boost::json::object o(sp);
  o["ref"] = t.ref;
  o["token_no"] = t.token_no;
  o["user_ref"] = t.user_ref;
  o["token_type"] = t.token_type;
  o["meter_no"] = t.meter_no;
  o["created_at"] = service::format_millis(t.created_at);
  return o;
}

boost::json::object user_json(const service::User& u) {
  boost::json::object o;
  o["id"] = 0;
  o["first_name"] = u.first_name;
  o["last_name"] = u.last_name;
  o["username"] = u.username;
  o["password"] = "";  // GW leaks the stored hash here; we never do
  o["phone_no"] = u.phone_no;
  if (u.image_url) {
    o["image_url"] = *u.image_url;
  } else {
    o["image_url"] = nullptr;
  }
  o["ref"] = u.ref;
  o["email"] = u.email;
  o["activated"] = u.activated;
  o["created_at"] = service::format_millis(u.created_at);
  return o;
}

boost::json::object permission_json(const service::Permission& p) {
  boost::json::object o;
  o["id"] = p.id;
  o["name"] = p.name;
  o["identifier"] = p.identifier;
  o["ref"] = p.ref;
  o["notes"] = p.notes;
  return o;
}

boost::json::object credential_json(const service::Credential& c, const std::optional<service::User>& user,
                                    bool with_secret) {
  boost::json::object o;
  o["key"] = c.key;
  if (with_secret) o["secret"] = std::string(reinterpret_cast<const char*>(c.secret.data()), c.secret.size());
  o["ref"] = c.ref;
  o["activated"] = c.activated;
  if (user) o["user"] = user_json(*user);
  boost::json::array perms;
  for (const auto& p : c.permissions) perms.push_back(permission_json(p));
  o["permissions"] = std::move(perms);
  o["created_at"] = service::format_millis(c.created_at);
  return o;
}

boost::json::object public_key_json(const service::PublicKey& k) {
  boost::json::object o;
  o["ref"] = k.ref;
  o["name"] = k.name;
  o["key"] = k.key;
  o["user_ref"] = k.user_ref;
  o["activated"] = k.activated;
  o["created_at"] = service::format_millis(k.created_at);
  return o;
}

boost::json::object configuration_json(const service::ConfigurationInfo& c, bool detailed) {
  boost::json::object o;
  o["ref"] = c.ref;
  o["name"] = c.name;
  o["user_ref"] = c.user_ref;
  o["activated"] = c.activated;
  o["created_at"] = service::format_millis(c.created_at);
  o["configuration_type"] = c.configuration_type;
  if (detailed) {
    o["supply_group_code"] = zero_pad(c.supply_group_code, 6);
    o["key_revision_no"] = c.key_revision_no;
    o["tariff_index"] = zero_pad(static_cast<std::uint64_t>(c.tariff_index), 2);
    o["key_type"] = c.key_type;
    o["key_expiry_no"] = c.key_expiry_no;
    o["base_date"] = c.base_date;
    o["encryption_algorithm"] = c.encryption_algorithm;
    o["decoder_key_generation_algorithm"] = c.decoder_key_generation_algorithm;
    o["issuer_identification_no"] = c.issuer_identification_no;
    o["token_carrier_type"] = c.token_carrier_type;
  }
  return o;
}

namespace {

// `,row` (or `row` first) appended to `out`; the row's object is built in a stack buffer, since a
// listing builds hundreds of thousands of them.
template <typename Row, typename ToJson>
void append_row(std::string& out, bool& first_row, const Row& row, ToJson to_json) {
  if (!first_row) out += ',';
  first_row = false;
  std::array<unsigned char, 1024> buf;
  boost::json::monotonic_resource mr(buf.data(), buf.size());
  append_json(to_json(row, &mr), out);
}

boost::json::object purchase_json(const service::Purchase& p, const boost::json::storage_ptr& sp) {
  boost::json::object j(sp);
  j["ref"] = p.ref;
  j["user_ref"] = p.user_ref;
  j["value"] = units_json(p.value);
  j["units"] = units_json(p.units);
  j["currency"] = p.currency;
  j["purchase_date"] = service::format_millis(p.purchase_date);
  return j;
}

boost::json::object consumption_json(const service::Consumption& c, const boost::json::storage_ptr& sp) {
  boost::json::object j(sp);
  j["ref"] = c.ref;
  j["units"] = units_json(c.units);
  j["consumption_date"] = service::format_millis(c.consumption_date);
  j["user_ref"] = c.user_ref;
  j["token_ref"] = c.token_ref;
  return j;
}

boost::json::object notification_json(const service::Notification& n, const boost::json::storage_ptr& sp) {
  boost::json::object o(sp);
  o["ref"] = n.ref;
  o["subject"] = n.subject;
  o["text"] = n.text;
  o["type"] = n.type;
  o["user_ref"] = n.user_ref;
  o["affected"] = n.affected;
  o["read"] = n.read;
  if (n.read_date) {
    o["read_date"] = service::format_millis(*n.read_date);
  } else {
    o["read_date"] = nullptr;
  }
  o["created_date"] = service::format_millis(n.created_date);
  return o;
}

}  // namespace

service::TransactionSink TransactionsJsonWriter::sink() {
  return {[this](service::Units balance) {
            out_ += R"({"credits":)";
            append_json(units_json(balance), out_);
            out_ += R"(,"purchases":[)";
          },
          [this](const service::Purchase& p) { append_row(out_, first_row_, p, purchase_json); },
          [this](const service::Consumption& c) {
            if (!in_consumptions_) start_consumptions();
            append_row(out_, first_row_, c, consumption_json);
          }};
}

void TransactionsJsonWriter::finish() {
  if (!in_consumptions_) start_consumptions();
  out_ += "]}";
}

void TransactionsJsonWriter::start_consumptions() {
  out_ += R"(],"consumptions":[)";
  in_consumptions_ = true;
  first_row_ = true;
}

service::RowSink<service::Notification> NotificationsJsonWriter::sink() {
  return [this](const service::Notification& n) { append_row(out_, first_row_, n, notification_json); };
}

boost::json::object meter_json(const service::Meter& m) {
  boost::json::object o;
  o["drn"] = m.drn;
  o["user_ref"] = m.user_ref;
  if (m.config_ref.empty()) {
    o["config_ref"] = nullptr;
  } else {
    o["config_ref"] = m.config_ref;
  }
  if (m.last_tid) {
    o["last_tid"] = *m.last_tid;
  } else {
    o["last_tid"] = nullptr;
  }
  o["key_revision_no"] = m.key_revision_no;
  o["key_type"] = m.key_type;
  o["supply_group_code"] = zero_pad(m.supply_group_code, 6);
  o["tariff_index"] = zero_pad(static_cast<std::uint64_t>(m.tariff_index), 2);
  o["key_expiry_no"] = m.key_expiry_no;
  o["moved_by_kct"] = m.moved_by_kct;
  o["created_at"] = service::format_millis(m.created_at);
  return o;
}

boost::json::object subscriber_json(const service::Subscriber& s) {
  boost::json::object o;
  o["ref"] = s.ref;
  o["name"] = s.name;
  o["phone_no"] = s.phone_no;
  o["activated"] = s.activated;
  o["created_at"] = service::format_millis(s.created_at);
  o["updated_at"] = service::format_millis(s.updated_at);
  return o;
}

boost::json::object meter_type_json(const service::MeterType& t) {
  boost::json::object o;
  o["id"] = t.id;
  o["ref"] = t.ref;
  o["name"] = t.name;
  return o;
}

boost::json::object oss_meter_json(const service::OssMeterView& v) {
  const service::OssMeter& m = v.meter;
  boost::json::object o;
  o["ref"] = m.ref;
  o["no"] = m.no;
  o["activated"] = m.activated;
  const auto& types = service::meter_types();
  const std::size_t ti = static_cast<std::size_t>(m.meter_type - 1);
  if (ti < types.size()) {
    o["meter_type"] = meter_type_json(types[ti]);
  } else {
    o["meter_type"] = nullptr;
  }
  if (v.subscriber) {
    o["subscriber"] = subscriber_json(*v.subscriber);
  } else {
    o["subscriber"] = nullptr;
  }
  if (m.utility_ref) {
    o["utility_ref"] = *m.utility_ref;
  } else {
    o["utility_ref"] = nullptr;
  }
  o["created_at"] = service::format_millis(m.created_at);
  o["updated_at"] = service::format_millis(m.updated_at);
  return o;
}

boost::json::object utility_json(const service::UtilityView& v) {
  const service::Utility& u = v.utility;
  boost::json::object o;
  o["name"] = u.name;
  o["ref"] = u.ref;
  o["contact_phone_no"] = u.contact_phone_no;
  o["unit_charge"] = units_json(u.unit_charge);
  o["activated"] = u.activated;
  o["config_ref"] = u.config_ref;
  boost::json::array meters;
  for (const auto& m : v.meters) meters.push_back(oss_meter_json(m));
  boost::json::object data;
  data["data"] = std::move(meters);
  o["data"] = std::move(data);
  o["created_at"] = service::format_millis(u.created_at);
  o["updated_at"] = service::format_millis(u.updated_at);
  return o;
}

boost::json::object decoded_json(const service::DecodeResult& d, std::optional<int> base_date_year) {
  const sts::DecodedToken& t = d.outcome.token;
  boost::json::object o;
  o["result"] = sts::token_result_name(d.outcome.result);
  o["class"] = std::to_string(t.token_class);
  o["subclass"] = std::to_string(t.subclass);
  o["type"] = t.token_type;
  if (d.record) {
    o["ref"] = d.record->ref;
    o["user_ref"] = d.record->user_ref;
    o["created_at"] = service::format_millis(d.record->created_at);
    o["meter_no"] = d.record->meter_no;
  }
  o["crc"] = t.crc;
  if (t.random_no) o["rnd"] = *t.random_no;
  if (t.tid) {
    o["tid"] = *t.tid;
    if (base_date_year) {
      if (const auto bd = sts::base_date_from_year(*base_date_year)) {
        o["token_identifier"] = sts::format_instant(sts::unix_from_tid(*t.tid, *bd));
      }
    }
  }
  if (t.amount_tenths) o["amount"] = static_cast<double>(*t.amount_tenths) / 10.0;
  if (t.control) o["control"] = std::to_string(*t.control);
  if (t.manufacturer_code) o["manufacturer_code"] = *t.manufacturer_code;
  if (t.maximum_power_limit) o["maximum_power_limit"] = *t.maximum_power_limit;
  if (t.register_no) o["register"] = *t.register_no;
  if (t.tariff_rate) o["tariff_rate"] = *t.tariff_rate;
  if (t.pad) o["pad"] = *t.pad;
  if (t.mppul) o["mppul"] = *t.mppul;
  if (t.wm_factor) o["wm_factor"] = *t.wm_factor;
  if (t.key_type) o["key_type"] = *t.key_type;
  if (t.key_revision_no) o["key_revision_number"] = *t.key_revision_no;
  if (t.key_expiry_nibble) {
    o[t.subclass == 3 ? "key_expiry_number_high_order" : "key_expiry_number_low_order"] = *t.key_expiry_nibble;
  }
  if (t.ro) o["roll_over_key_change"] = *t.ro;
  if (t.res_3kct) o["3_kct"] = *t.res_3kct;
  if (t.tariff_index) o["tariff_index"] = *t.tariff_index;
  if (t.sgc_part) {
    o[t.subclass == 8 ? "supply_group_code_low_order" : "supply_group_code_high_order"] = *t.sgc_part;
  }
  return o;
}

}  // namespace stsvend::api
