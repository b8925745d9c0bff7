// The J24 open-source extras (NECTAR-V1 §3.8): meters, subscribers, utilities. Shapes follow the J24
// SDK (MetersFactory, SubscribersFactory, UtilitiesFactory): creates and updates answer `data.ref`,
// reads `data.data`, activate/deactivate no data. docs/api.md ("J24 open-source extras").
#include <cstdint>
#include <limits>

#include <boost/json.hpp>

#include "api/json_io.h"
#include "api/json_mapping.h"
#include "api/nectar_api.h"

namespace stsvend::api {

namespace {

// An optional ref: absent, null or "" → nullopt (org.json leaves out nulls; portals send "").
Result<std::optional<std::string>> opt_ref(const boost::json::object& o, std::string_view field) {
  auto v = scalar_text(o, field);
  if (!v.ok()) return v;
  if (*v && (*v)->empty()) return std::optional<std::string>();
  return v;
}

// `meter_type`: a type ref or name ("Electricity", any case), or an object carrying either.
Result<std::optional<int>> meter_type_field(const boost::json::object& o) {
  const auto* v = o.if_contains("meter_type");
  if (v == nullptr || v->is_null()) return std::optional<int>();
  const Status bad = Status::InvalidArgument("meter_type", "must be a meter type ref or Electricity, Water or Gas");
  std::string key;
  if (v->is_string()) {
    key = std::string(v->get_string());
  } else if (v->is_object()) {
    const auto& obj = v->get_object();
    const auto* k = obj.if_contains("ref");
    if (k == nullptr || !k->is_string()) k = obj.if_contains("name");
    if (k == nullptr || !k->is_string()) return bad;
    key = std::string(k->get_string());
  } else {
    return bad;
  }
  const service::MeterType* t = service::find_meter_type(key);
  if (t == nullptr) return bad;
  return std::optional<int>(t->id);
}

// `no`: a JSON integer (or its digits) that J24 reads back as a Long.
Result<std::optional<std::int64_t>> meter_no_field(const boost::json::object& o) {
  auto v = uint_field(o, "no", 2147483648ULL, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (!v.ok()) return std::move(v).take_status();
  if (!*v) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(static_cast<std::int64_t>(**v));
}

Result<std::optional<service::Units>> unit_charge_field(const boost::json::object& o) {
  auto text = scalar_text(o, "unit_charge");
  if (!text.ok()) return std::move(text).take_status();
  if (!*text) return std::optional<service::Units>();
  auto units = service::parse_units(**text, "unit_charge");
  if (!units.ok()) return std::move(units).take_status();
  return std::optional<service::Units>(*units);
}

// `meters`: a list of meter refs, or of meter objects (J24 serialises its Meter beans) carrying `ref`.
Result<std::optional<std::vector<std::string>>> meter_refs_field(const boost::json::object& o) {
  const auto* v = o.if_contains("meters");
  if (v == nullptr || v->is_null()) return std::optional<std::vector<std::string>>();
  const Status bad = Status::InvalidArgument("meters", "must be a list of meter refs");
  if (!v->is_array()) return bad;
  std::vector<std::string> refs;
  for (const auto& e : v->get_array()) {
    const boost::json::value* ref = &e;
    if (e.is_object()) ref = e.get_object().if_contains("ref");
    if (ref == nullptr || !ref->is_string() || ref->get_string().empty()) return bad;
    refs.emplace_back(ref->get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(refs));
}

Reply ref_reply(std::string_view message, const std::string& request_id, const std::string& ref) {
  boost::json::object data;
  data["ref"] = ref;
  return envelope_raw_data(message, request_id, std::move(data));
}

}  // namespace

Reply NectarApi::set_active_by_path(Ctx& c, std::string_view what, bool active,
                                    Status (service::Service::*fn)(std::string_view, std::string_view, bool)) {
  if (Status s = (service_.*fn)(c.caller.user_ref, c.path_param, active); !s.ok()) return error(c, s);
  return envelope_no_data(std::string(active ? "Successfully activated " : "Successfully deactivated ") +
                              std::string(what),
                          c.request_id);
}

// --- Meters

Reply NectarApi::get_oss_meter(Ctx& c, const std::string& ref) {
  auto m = service_.get_oss_meter(c.caller.user_ref, ref);
  if (!m.ok()) return error(c, m.status());
  return envelope_data("Successfully retrieved meter", c.request_id, oss_meter_json(*m));
}

Reply NectarApi::post_oss_meter(Ctx& c, const boost::json::object& body) {
  service::NewOssMeter m;
  auto no = required<std::int64_t>(meter_no_field(body), "no");
  if (!no.ok()) return error(c, no.status());
  m.no = *no;
  auto activated = bool_field(body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  m.activated = activated->value_or(true);
  auto type = required<int>(meter_type_field(body), "meter_type");
  if (!type.ok()) return error(c, type.status());
  m.meter_type = *type;
  auto utility = opt_ref(body, "utility_ref");
  if (!utility.ok()) return error(c, utility.status());
  m.utility_ref = std::move(utility).value();
  auto subscriber = opt_ref(body, "subscriber_ref");
  if (!subscriber.ok()) return error(c, subscriber.status());
  m.subscriber_ref = std::move(subscriber).value();
  auto ref = service_.create_oss_meter(c.caller.user_ref, m);
  if (!ref.ok()) return error(c, ref.status());
  return ref_reply("Successfully created meter", c.request_id, *ref);
}

Reply NectarApi::get_meter_types(Ctx& c) {
  boost::json::array arr;
  for (const auto& t : service::meter_types()) arr.push_back(meter_type_json(t));
  return envelope_data("Successfully retrieved meter types", c.request_id, std::move(arr));
}

Reply NectarApi::put_meter(Ctx& c) {
  const std::string* ref = c.q("meter_ref");
  if (ref == nullptr) return missing_query(c, "meter_ref");
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  service::OssMeterUpdate u;
  auto no = meter_no_field(*body);
  if (!no.ok()) return error(c, no.status());
  u.no = *no;
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  u.activated = *activated;
  auto type = meter_type_field(*body);
  if (!type.ok()) return error(c, type.status());
  u.meter_type = *type;
  auto utility = opt_ref(*body, "utility_ref");
  if (!utility.ok()) return error(c, utility.status());
  u.utility_ref = std::move(utility).value();
  auto subscriber = opt_ref(*body, "subscriber_ref");
  if (!subscriber.ok()) return error(c, subscriber.status());
  u.subscriber_ref = std::move(subscriber).value();
  if (Status s = service_.update_oss_meter(c.caller.user_ref, *ref, u); !s.ok()) return error(c, s);
  return ref_reply("Successfully updated meter", c.request_id, *ref);
}

Reply NectarApi::activate_meter(Ctx& c) {
  return set_active_by_path(c, "meter", true, &service::Service::set_oss_meter_active);
}

Reply NectarApi::deactivate_meter(Ctx& c) {
  return set_active_by_path(c, "meter", false, &service::Service::set_oss_meter_active);
}

// --- Subscribers

Reply NectarApi::get_subscriber(Ctx& c) {
  const std::string* ref = c.q("ref");
  if (ref == nullptr) return missing_query(c, "ref");
  auto s = service_.get_subscriber(c.caller.user_ref, *ref);
  if (!s.ok()) return error(c, s.status());
  return envelope_data("Successfully retrieved subscriber", c.request_id, subscriber_json(*s));
}

Reply NectarApi::post_subscriber(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  service::NewSubscriber s;
  auto name = required<std::string>(scalar_text(*body, "name"), "name");
  if (!name.ok()) return error(c, name.status());
  s.name = std::move(name).value();
  auto phone = scalar_text(*body, "phone_no");
  if (!phone.ok()) return error(c, phone.status());
  s.phone_no = phone->value_or("");
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  s.activated = activated->value_or(true);
  auto ref = service_.add_subscriber(c.caller.user_ref, s);
  if (!ref.ok()) return error(c, ref.status());
  return ref_reply("Successfully added subscriber", c.request_id, *ref);
}

Reply NectarApi::put_subscriber(Ctx& c) {
  const std::string* ref = c.q("subscriber_ref");
  if (ref == nullptr) return missing_query(c, "subscriber_ref");
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  service::SubscriberUpdate u;
  auto name = scalar_text(*body, "name");
  if (!name.ok()) return error(c, name.status());
  u.name = std::move(name).value();
  auto phone = scalar_text(*body, "phone_no");
  if (!phone.ok()) return error(c, phone.status());
  u.phone_no = std::move(phone).value();
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  u.activated = *activated;
  if (Status s = service_.update_subscriber(c.caller.user_ref, *ref, u); !s.ok()) return error(c, s);
  return ref_reply("Successfully updated subscriber", c.request_id, *ref);
}

Reply NectarApi::activate_subscriber(Ctx& c) {
  return set_active_by_path(c, "subscriber", true, &service::Service::set_subscriber_active);
}

Reply NectarApi::deactivate_subscriber(Ctx& c) {
  return set_active_by_path(c, "subscriber", false, &service::Service::set_subscriber_active);
}

// --- Utilities

Reply NectarApi::get_utilities(Ctx& c) {
  if (const std::string* ref = c.q("utility_ref")) {
    auto u = service_.get_utility(c.caller.user_ref, *ref);
    if (!u.ok()) return error(c, u.status());
    return envelope_data("Successfully retrieved utility", c.request_id, utility_json(*u));
  }
  auto list = service_.list_utilities(c.caller.user_ref);
  if (!list.ok()) return error(c, list.status());
  boost::json::array arr;
  for (const auto& u : *list) arr.push_back(utility_json(u));
  return envelope_data("Successfully retrieved utilities", c.request_id, std::move(arr));
}

Reply NectarApi::get_utility_meters(Ctx& c) {
  auto list = service_.list_utility_meters(c.caller.user_ref, c.path_param);
  if (!list.ok()) return error(c, list.status());
  boost::json::array arr;
  for (const auto& m : *list) arr.push_back(oss_meter_json(m));
  return envelope_data("Successfully retrieved utility meters", c.request_id, std::move(arr));
}

Reply NectarApi::post_utility(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  service::NewUtility u;
  auto name = required<std::string>(scalar_text(*body, "name"), "name");
  if (!name.ok()) return error(c, name.status());
  u.name = std::move(name).value();
  auto phone = scalar_text(*body, "contact_phone_no");
  if (!phone.ok()) return error(c, phone.status());
  u.contact_phone_no = phone->value_or("");
  auto charge = required<service::Units>(unit_charge_field(*body), "unit_charge");
  if (!charge.ok()) return error(c, charge.status());
  u.unit_charge = *charge;
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  u.activated = activated->value_or(true);
  auto config = required<std::string>(text_field(*body, "config_ref"), "config_ref");
  if (!config.ok()) return error(c, config.status());
  u.config_ref = std::move(config).value();
  auto meters = meter_refs_field(*body);
  if (!meters.ok()) return error(c, meters.status());
  u.meter_refs = meters->value_or(std::vector<std::string>{});
  auto ref = service_.create_utility(c.caller.user_ref, u);
  if (!ref.ok()) return error(c, ref.status());
  return ref_reply("Successfully created utility", c.request_id, *ref);
}

Reply NectarApi::put_utility(Ctx& c) {
  const std::string* ref = c.q("utility_ref");
  if (ref == nullptr) return missing_query(c, "utility_ref");
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  service::UtilityUpdate u;
  auto name = scalar_text(*body, "name");
  if (!name.ok()) return error(c, name.status());
  u.name = std::move(name).value();
  auto phone = scalar_text(*body, "contact_phone_no");
  if (!phone.ok()) return error(c, phone.status());
  u.contact_phone_no = std::move(phone).value();
  auto charge = unit_charge_field(*body);
  if (!charge.ok()) return error(c, charge.status());
  u.unit_charge = *charge;
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  u.activated = *activated;
  auto config = opt_ref(*body, "config_ref");
  if (!config.ok()) return error(c, config.status());
  u.config_ref = std::move(config).value();
  auto meters = meter_refs_field(*body);
  if (!meters.ok()) return error(c, meters.status());
  u.meter_refs = std::move(meters).value();
  if (Status s = service_.update_utility(c.caller.user_ref, *ref, u); !s.ok()) return error(c, s);
  return ref_reply("Successfully updated utility", c.request_id, *ref);
}

Reply NectarApi::activate_utility(Ctx& c) {
  return set_active_by_path(c, "utility", true, &service::Service::set_utility_active);
}

Reply NectarApi::deactivate_utility(Ctx& c) {
  return set_active_by_path(c, "utility", false, &service::Service::set_utility_active);
}

}  // namespace stsvend::api
