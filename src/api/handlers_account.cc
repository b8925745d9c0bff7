// Users, credentials, public keys, configurations, credits, notifications, meters.
// NECTAR-V1.md §3.2–3.7; stsvend extras (credential creation, meter registry) in docs/api.md.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

#include <boost/json.hpp>

#include "api/json_io.h"
#include "api/json_mapping.h"
#include "api/nectar_api.h"
#include "api/token_request.h"
#include "stsvend/sts/tid.h"

namespace stsvend::api {

namespace {

// Optional string field: absent/null → nullopt; any scalar → its text.
Result<std::optional<std::string>> opt_text(const boost::json::object& o, std::string_view field) {
  return scalar_text(o, field);
}

// A bound of a listing's window: a date (its midnight, UTC) or an instant as token_id takes it, in Unix
// milliseconds; nullopt when the query has no such parameter.
Result<std::optional<service::Millis>> window_bound(const std::string* text, std::string_view field) {
  if (text == nullptr) return std::optional<service::Millis>();
  const bool date_only = text->size() == 10;
  auto seconds = sts::parse_instant(date_only ? *text + "T00:00" : *text, field);
  if (!seconds.ok()) {
    return Status::InvalidArgument(field, "must be a date like 2026-11-24 or an instant like 2026-11-24T10:00:00Z "
                                          "(UTC unless it has an offset, written %2B03:00 in a query)");
  }
  return std::optional<service::Millis>(*seconds * 1000);
}

// stsvend extension of the listings that grow with every vend (transactions, notifications): the
// `from` (inclusive) and `to` (exclusive) query parameters. docs/api.md "Listing windows".
Result<service::TimeRange> listing_window(const std::string* from_text, const std::string* to_text) {
  service::TimeRange range;
  STSVEND_ASSIGN_OR_RETURN(range.from, window_bound(from_text, "from"));
  STSVEND_ASSIGN_OR_RETURN(range.to, window_bound(to_text, "to"));
  if (range.from && range.to && *range.to <= *range.from) {
    return Status::InvalidArgument("to", "must be later than from");
  }
  return range;
}

}  // namespace

Reply NectarApi::set_active(Ctx& c, std::string_view what, bool active,
                            Status (service::Service::*fn)(std::string_view, std::string_view, bool)) {
  const std::string* ref = c.q("ref");
  if (ref == nullptr) return missing_query(c, "ref");
  if (Status s = (service_.*fn)(c.caller.user_ref, *ref, active); !s.ok()) return error(c, s);
  return envelope_no_data(std::string(active ? "Successfully activated " : "Successfully deactivated ") +
                              std::string(what),
                          c.request_id);
}

// --- Users

Reply NectarApi::get_user(Ctx& c) {
  auto user = service_.get_user(c.caller.user_ref);
  if (!user.ok()) return error(c, user.status());
  return envelope_data("Successfully retrieved user", c.request_id, user_json(*user));
}

Reply NectarApi::post_user(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  service::NewUser u;
  const std::pair<const char*, std::string*> fields[] = {{"first_name", &u.first_name}, {"last_name", &u.last_name},
                                                         {"username", &u.username},     {"password", &u.password},
                                                         {"phone_no", &u.phone_no},     {"email", &u.email}};
  for (const auto& [name, dst] : fields) {
    auto v = opt_text(*body, name);
    if (!v.ok()) return error(c, v.status());
    if (*v) *dst = **v;
  }
  auto image = opt_text(*body, "image_url");
  if (!image.ok()) return error(c, image.status());
  if (*image && !(*image)->empty()) u.image_url = **image;
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  u.activated = activated->value_or(true);
  u.is_admin = false;  // admins are made with the admin CLI only
  auto ref = service_.create_user(u);
  if (!ref.ok()) return error(c, ref.status());
  boost::json::object data;
  data["user_ref"] = *ref;
  return envelope_raw_data("Successfully created user", c.request_id, std::move(data));
}

Reply NectarApi::put_user(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  service::UserUpdate up;
  const std::pair<const char*, std::optional<std::string>*> fields[] = {
      {"first_name", &up.first_name}, {"last_name", &up.last_name}, {"username", &up.username},
      {"password", &up.password},     {"phone_no", &up.phone_no},   {"email", &up.email}};
  for (const auto& [name, dst] : fields) {
    auto v = opt_text(*body, name);
    if (!v.ok()) return error(c, v.status());
    *dst = std::move(v).value();
  }
  // SDKs send `password: ""` meaning "unchanged" (the GET shape carries an empty password).
  if (up.password && up.password->empty()) up.password.reset();
  if (const auto* img = body->if_contains("image_url")) {
    if (img->is_null()) {
      up.image_url = std::optional<std::string>();
    } else {
      auto v = opt_text(*body, "image_url");
      if (!v.ok()) return error(c, v.status());
      up.image_url = std::move(v).value();
    }
  }
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  up.activated = *activated;
  if (Status s = service_.update_user(c.caller.user_ref, up); !s.ok()) return error(c, s);
  return envelope_no_data("Successfully updated user", c.request_id);
}

Reply NectarApi::delete_user(Ctx& c) {
  if (Status s = service_.delete_user(c.caller.user_ref); !s.ok()) return error(c, s);
  return envelope_no_data("Successfully deleted user", c.request_id);
}

// --- Credentials

Reply NectarApi::get_credential(Ctx& c) {
  const std::string* ref = c.q("ref");
  if (ref == nullptr) return missing_query(c, "ref");
  auto cred = service_.get_credential(c.caller.user_ref, *ref);
  if (!cred.ok()) return error(c, cred.status());
  std::optional<service::User> user;
  if (auto u = service_.get_user(c.caller.user_ref); u.ok()) user = std::move(u).value();
  // Nectar answers with the secret. Only to a caller that holds every permission of the credential it
  // reads: otherwise reading a secret would grant what POST /v1/credentials refuses to (a credential
  // limited to get_credentials signing vends with the account's all-permission one).
  bool may_sign_as = true;
  for (const auto& p : cred->permissions) may_sign_as = may_sign_as && c.caller.has(p.identifier);
  return envelope_data("Successfully retrieved credentials", c.request_id, credential_json(*cred, user, may_sign_as));
}

Reply NectarApi::post_credential(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  // A credential can only hand out permissions it holds itself (no escalation through this route).
  service::PermissionSelection sel;
  std::set<int> ids;
  const auto* perms = body->if_contains("permissions");
  bool all = perms == nullptr || perms->is_null() || (perms->is_string() && perms->get_string() == "all");
  if (!all) {
    if (perms->is_array()) {
      for (const auto& e : perms->get_array()) {
        boost::json::object tmp;
        tmp["id"] = e;
        auto id = uint_field(tmp, "id", 1, 100000);
        if (!id.ok() || !*id) return error(c, Status::InvalidArgument("permissions", "must be \"all\" or a list of permission ids"));
        ids.insert(static_cast<int>(**id));
      }
    } else {
      return error(c, Status::InvalidArgument("permissions", "must be \"all\" or a list of permission ids"));
    }
  }
  for (const auto& p : service::permission_catalogue()) {
    const bool held = c.caller.has(p.identifier);
    if (all) {
      if (held) ids.insert(p.id);
    } else if (ids.count(p.id) != 0 && !held) {
      return spring_reply(403, "credentials cannot grant the permission " + p.identifier + " they do not hold", c.path);
    }
  }
  for (int id : ids) {
    bool known = false;
    for (const auto& p : service::permission_catalogue()) known = known || p.id == id;
    if (!known) return error(c, Status::InvalidArgument("permissions", "unknown permission id " + std::to_string(id)));
  }
  sel.ids.assign(ids.begin(), ids.end());
  auto created = service_.create_credential(c.caller.user_ref, sel);
  if (!created.ok()) return error(c, created.status());
  boost::json::object o;
  o["ref"] = created->ref;
  o["key"] = created->key;
  o["secret"] = created->secret;
  return envelope_data("Successfully created credentials", c.request_id, std::move(o));
}

Reply NectarApi::put_credential(Ctx& c) {
  return set_active(c, "credentials", true, &service::Service::set_credential_active);
}

Reply NectarApi::delete_credential(Ctx& c) {
  return set_active(c, "credentials", false, &service::Service::set_credential_active);
}

// --- Public keys

Reply NectarApi::get_public_keys(Ctx& c) {
  auto only_activated = query_flag(c.q("activated"), "activated");
  if (!only_activated.ok()) return error(c, only_activated.status());
  auto keys = service_.list_public_keys(c.caller.user_ref, *only_activated);
  if (!keys.ok()) return error(c, keys.status());
  boost::json::array arr;
  for (const auto& k : *keys) arr.push_back(public_key_json(k));
  return envelope_data("Successfully retrieved public keys", c.request_id, std::move(arr));
}

Reply NectarApi::post_public_key(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  auto name = opt_text(*body, "name");
  if (!name.ok()) return error(c, name.status());
  auto key = required<std::string>(text_field(*body, "key"), "key");
  if (!key.ok()) return error(c, key.status());
  auto activated = bool_field(*body, "activated");
  if (!activated.ok()) return error(c, activated.status());
  auto added = service_.add_public_key(c.caller.user_ref, name->value_or(""), *key, activated->value_or(true));
  if (!added.ok()) return error(c, added.status());
  return envelope_data("Successfully added public key", c.request_id, public_key_json(*added));
}

Reply NectarApi::put_public_key(Ctx& c) {
  return set_active(c, "public key", true, &service::Service::set_public_key_active);
}

Reply NectarApi::delete_public_key(Ctx& c) {
  return set_active(c, "public key", false, &service::Service::set_public_key_active);
}

// --- Configurations

Reply NectarApi::get_configurations(Ctx& c) {
  auto detailed_flag = query_flag(c.q("detailed"), "detailed");
  if (!detailed_flag.ok()) return error(c, detailed_flag.status());
  const bool detailed = *detailed_flag;
  if (const std::string* ref = c.q("ref")) {
    auto cfg = service_.get_configuration(c.caller.user_ref, *ref);
    if (!cfg.ok()) return error(c, cfg.status());
    return envelope_data("Successfully retrieved configuration", c.request_id, configuration_json(*cfg, detailed));
  }
  // stsvend extra: without ?ref= the caller's configurations are listed.
  auto list = service_.list_configurations(c.caller.user_ref);
  if (!list.ok()) return error(c, list.status());
  boost::json::array arr;
  for (const auto& cfg : *list) arr.push_back(configuration_json(cfg, detailed));
  return envelope_data("Successfully retrieved configurations", c.request_id, std::move(arr));
}

Reply NectarApi::post_configuration(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  auto data = required<std::string>(text_field(*body, "data"), "data");
  if (!data.ok()) return error(c, data.status());
  auto digest = required<std::string>(text_field(*body, "digest"), "digest");
  if (!digest.ok()) return error(c, digest.status());
  auto key = required<std::string>(text_field(*body, "key"), "key");
  if (!key.ok()) return error(c, key.status());
  auto cfg = service_.upload_configuration(c.caller.user_ref, *data, *digest, *key);
  if (!cfg.ok()) return error(c, cfg.status());
  return envelope_data("Successfully added configuration", c.request_id, configuration_json(*cfg, false));
}

Reply NectarApi::put_configuration(Ctx& c) {
  return set_active(c, "configuration", true, &service::Service::set_configuration_active);
}

Reply NectarApi::delete_configuration(Ctx& c) {
  return set_active(c, "configuration", false, &service::Service::set_configuration_active);
}

// --- Credits

Reply NectarApi::get_credits(Ctx& c) {
  auto s = service_.credits(c.caller.user_ref);
  if (!s.ok()) return error(c, s.status());
  WrittenEnvelope reply("Successfully retrieved credits", c.request_id);
  TransactionsJsonWriter writer(reply.text());
  writer.sink().balance(s->credits);  // and empty lists, the shape of the transactions answer
  writer.finish();
  return std::move(reply).finish();
}

// stsvend extension: a from/to window (listing_window) narrows both lists, so that a reconciliation
// reads one day instead of the tenant's whole history.
Reply NectarApi::get_transactions(Ctx& c) {
  auto range = listing_window(c.q("from"), c.q("to"));
  if (!range.ok()) return error(c, range.status());
  WrittenEnvelope reply("Successfully retrieved transactions", c.request_id);
  TransactionsJsonWriter writer(reply.text());
  const Status read = service_.read_transactions(c.caller.user_ref, *range, writer.sink());
  if (!read.ok()) return error(c, read);
  writer.finish();
  return std::move(reply).finish();
}

// --- Notifications

// stsvend extension: a from/to window (listing_window) and `limit`, the newest N: every vend adds a
// notification, and an inbox needs the latest ones, not the tenant's history.
Reply NectarApi::get_notifications(Ctx& c) {
  service::NotificationQuery query;
  auto range = listing_window(c.q("from"), c.q("to"));
  if (!range.ok()) return error(c, range.status());
  query.range = *range;
  if (const std::string* limit = c.q("limit")) {
    constexpr std::uint32_t kMaxLimit = 100'000;
    std::uint32_t n = 0;
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || end != limit->data() + limit->size() || n == 0 || n > kMaxLimit) {
      return error(c,
                   Status::InvalidArgument("limit", "must be a whole number from 1 to " + std::to_string(kMaxLimit)));
    }
    query.newest = n;
  }
  WrittenEnvelope reply("Successfully retrieved notifications", c.request_id);
  NotificationsJsonWriter writer(reply.text());
  const Status read = service_.read_notifications(c.caller.user_ref, query, writer.sink());
  if (!read.ok()) return error(c, read);
  writer.finish();
  return std::move(reply).finish();
}

Reply NectarApi::put_notification(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  auto ref = required<std::string>(text_field(*body, "notification_ref"), "notification_ref");
  if (!ref.ok()) return error(c, ref.status());
  auto read = required<bool>(bool_field(*body, "status"), "status");
  if (!read.ok()) return error(c, read.status());
  // Epoch milliseconds as an integer, a float (P24) or a string.
  std::int64_t ts = now_ms();
  auto ts_text = scalar_text(*body, "timestamp");
  if (!ts_text.ok()) return error(c, ts_text.status());
  if (*ts_text) {
    char* end = nullptr;
    const double d = std::strtod((*ts_text)->c_str(), &end);
    if (end == (*ts_text)->c_str() || *end != '\0' || !std::isfinite(d) || d < 0 || d > 1e15) {
      return error(c, Status::InvalidArgument("timestamp", "must be epoch milliseconds"));
    }
    ts = static_cast<std::int64_t>(d);
  }
  if (Status s = service_.set_notification_read(c.caller.user_ref, *ref, *read, ts); !s.ok()) return error(c, s);
  return envelope_no_data("Successfully updated notification", c.request_id);
}

// --- Meters (stsvend's registry; J24 meters share GET ?ref= and POST {no}, see handlers_oss.cc)

Reply NectarApi::get_meters(Ctx& c) {
  if (const std::string* ref = c.q("ref")) return get_oss_meter(c, *ref);  // J24 (handlers_oss.cc)
  if (const std::string* drn = c.q("drn")) {
    auto m = service_.get_meter(c.caller.user_ref, *drn);
    if (!m.ok()) return error(c, m.status());
    return envelope_data("Successfully retrieved meter", c.request_id, meter_json(*m));
  }
  auto list = service_.list_meters(c.caller.user_ref);
  if (!list.ok()) return error(c, list.status());
  boost::json::array arr;
  for (const auto& m : *list) arr.push_back(meter_json(m));
  return envelope_data("Successfully retrieved meters", c.request_id, std::move(arr));
}

Reply NectarApi::post_meter(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  // J24 creates its meters with `no` (handlers_oss.cc); the registry binds a DRN to a configuration.
  if (body->contains("no")) return post_oss_meter(c, *body);
  auto drn = drn_field(*body, "drn", "decoder_reference_number");
  if (!drn.ok()) return error(c, drn.status());
  if (!drn.value()) return error(c, Status::InvalidArgument("decoder_reference_number", "is required (11 to 13 digits)"));
  auto config_ref = required<std::string>(text_field(*body, "config_ref"), "config_ref");
  if (!config_ref.ok()) return error(c, config_ref.status());
  auto rebind = bool_field(*body, "rebind");
  if (!rebind.ok()) return error(c, rebind.status());
  auto m = service_.register_meter(c.caller.user_ref, **drn, *config_ref, rebind->value_or(false));
  if (!m.ok()) return error(c, m.status());
  return envelope_data("Successfully registered meter", c.request_id, meter_json(*m));
}

}  // namespace stsvend::api
