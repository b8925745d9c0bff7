// The J24 open-source extras (NECTAR-V1 §3.8): subscribers, utilities and their meters. Per tenant:
// every ref a request names is looked up with the caller's user_ref, so a foreign ref reads exactly
// like an unknown one. Each write is one job on the writer (db_->write), validated before anything
// is written, so a failed request changes nothing. Contract: service.h; routes: docs/api.md.
#include <cstdio>

#include "service/random_ids.h"
#include "service/service_impl.h"
#include "service/text_rules.h"

namespace stsvend::service {

using store::Repository;

namespace {

Status check_name(std::string_view v) { return check_text("name", v, 1, 255); }

Status check_phone(std::string_view field, std::string_view v) {
  if (v.size() > 32) return Status::InvalidArgument(field, "must be at most 32 characters");
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if ((c < '0' || c > '9') && !(c == '+' && i == 0)) {
      return Status::InvalidArgument(field, "must contain digits only (an optional leading +)");
    }
  }
  return Status::Ok();
}

Status check_unit_charge(Units u) {
  if (u < 0) return Status::InvalidArgument("unit_charge", "must not be negative");
  return Status::Ok();
}

Status check_meter_type(int id) {
  if (id < 1 || id > static_cast<int>(meter_types().size())) {
    return Status::InvalidArgument("meter_type", "must be Electricity, Water or Gas");
  }
  return Status::Ok();
}

// A meter number the J24 SDK can read back: it casts `no` to Long, which org.json only produces for
// integers beyond the int range.
Status check_meter_no(std::int64_t no) {
  if (no < 2147483648LL) return Status::InvalidArgument("no", "must be an integer of at least 2147483648");
  return Status::Ok();
}

// Inserting or renumbering a meter onto a number the tenant already uses.
Status map_meter_conflict(Status st) {
  if (st.code() == Status::Code::kAlreadyExists) {
    return Status::AlreadyExists("no", "a meter with this number already exists");
  }
  return st;
}

Result<OssMeterView> view_of(Repository& repo, std::string_view user_ref, OssMeter m) {
  OssMeterView v;
  if (m.subscriber_ref) {
    STSVEND_ASSIGN_OR_RETURN(v.subscriber, repo.find_subscriber(user_ref, *m.subscriber_ref));
  }
  v.meter = std::move(m);
  return v;
}

Result<std::vector<OssMeterView>> meters_of(Repository& repo, std::string_view user_ref, std::string_view utility_ref) {
  STSVEND_ASSIGN_OR_RETURN(std::vector<OssMeter> list, repo.list_oss_meters_of_utility(user_ref, utility_ref));
  std::vector<OssMeterView> out;
  out.reserve(list.size());
  for (auto& m : list) {
    STSVEND_ASSIGN_OR_RETURN(OssMeterView v, view_of(repo, user_ref, std::move(m)));
    out.push_back(std::move(v));
  }
  return out;
}

// Links the caller's meters `refs` to `utility_ref`; NotFound("meters") for any unknown or foreign ref.
Status link_meters(Repository& repo, std::string_view user_ref, const std::vector<std::string>& refs,
                   std::string_view utility_ref, Millis t) {
  for (const std::string& ref : refs) {
    STSVEND_ASSIGN_OR_RETURN(auto m, repo.find_oss_meter(user_ref, ref));
    if (!m) return not_found("meters");
    m->utility_ref = std::string(utility_ref);
    m->updated_at = t;
    STSVEND_RETURN_IF_ERROR(repo.update_oss_meter(*m).status());
  }
  return Status::Ok();
}

}  // namespace

const std::vector<MeterType>& meter_types() {
  static const std::vector<MeterType> types = [] {
    std::vector<MeterType> out;
    int id = 1;
    for (const char* name : {"Electricity", "Water", "Gas"}) {
      char ref[40];
      std::snprintf(ref, sizeof ref, "8e2f6a10-3c4d-4e5f-9a7b-%012d", id);
      out.push_back(MeterType{id, ref, name});
      ++id;
    }
    return out;
  }();
  return types;
}

const MeterType* find_meter_type(std::string_view ref_or_name) {
  const auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  };
  for (const MeterType& t : meter_types()) {
    if (t.ref == ref_or_name || lower(t.name) == lower(ref_or_name)) return &t;
  }
  return nullptr;
}

// ---------------------------------------------------------------- subscribers

Result<std::string> ServiceImpl::add_subscriber(std::string_view user_ref, const NewSubscriber& in) {
  STSVEND_RETURN_IF_ERROR(check_name(in.name));
  STSVEND_RETURN_IF_ERROR(check_phone("phone_no", in.phone_no));
  Subscriber s;
  s.ref = random_uuid_v4();
  s.user_ref = std::string(user_ref);
  s.name = in.name;
  s.phone_no = in.phone_no;
  s.activated = in.activated;
  s.created_at = s.updated_at = now();
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto user, repo.find_user(user_ref));
    if (!user) return not_found("user_ref");
    STSVEND_RETURN_IF_ERROR(repo.insert_subscriber(s));
    return notify(repo, user_ref, "ADD_SUBSCRIBER", "Subscriber added", "Added subscriber " + s.name, s.ref);
  }); !written.ok()) {
    return written;
  }
  return s.ref;
}

Result<Subscriber> ServiceImpl::get_subscriber(std::string_view user_ref, std::string_view ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto s, lease->repo().find_subscriber(user_ref, ref));
  if (!s) return not_found("ref");
  return std::move(*s);
}

Status ServiceImpl::update_subscriber(std::string_view user_ref, std::string_view ref, const SubscriberUpdate& u) {
  if (u.name) STSVEND_RETURN_IF_ERROR(check_name(*u.name));
  if (u.phone_no) STSVEND_RETURN_IF_ERROR(check_phone("phone_no", *u.phone_no));
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto s, repo.find_subscriber(user_ref, ref));
    if (!s) return not_found("subscriber_ref");
    if (u.name) s->name = *u.name;
    if (u.phone_no) s->phone_no = *u.phone_no;
    if (u.activated) s->activated = *u.activated;
    s->updated_at = now();
    return repo.update_subscriber(*s).status();
  });
}

Status ServiceImpl::set_subscriber_active(std::string_view user_ref, std::string_view ref, bool active) {
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto s, repo.find_subscriber(user_ref, ref));
    if (!s) return not_found("ref");
    s->activated = active;
    s->updated_at = now();
    return repo.update_subscriber(*s).status();
  });
}

// ---------------------------------------------------------------- utilities

Result<std::string> ServiceImpl::create_utility(std::string_view user_ref, const NewUtility& in) {
  STSVEND_RETURN_IF_ERROR(check_name(in.name));
  STSVEND_RETURN_IF_ERROR(check_phone("contact_phone_no", in.contact_phone_no));
  STSVEND_RETURN_IF_ERROR(check_unit_charge(in.unit_charge));
  Utility u;
  u.ref = random_uuid_v4();
  u.user_ref = std::string(user_ref);
  u.name = in.name;
  u.contact_phone_no = in.contact_phone_no;
  u.unit_charge = in.unit_charge;
  u.activated = in.activated;
  u.config_ref = in.config_ref;
  u.created_at = u.updated_at = now();
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto config, repo.find_configuration(user_ref, in.config_ref));
    if (!config) return not_found("config_ref");
    STSVEND_RETURN_IF_ERROR(repo.insert_utility(u));
    STSVEND_RETURN_IF_ERROR(link_meters(repo, user_ref, in.meter_refs, u.ref, u.created_at));
    return notify(repo, user_ref, "ADD_UTILITY", "Utility added", "Added utility " + u.name, u.ref);
  }); !written.ok()) {
    return written;
  }
  return u.ref;
}

Result<UtilityView> ServiceImpl::get_utility(std::string_view user_ref, std::string_view ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto u, lease->repo().find_utility(user_ref, ref));
  if (!u) return not_found("utility_ref");
  UtilityView v;
  STSVEND_ASSIGN_OR_RETURN(v.meters, meters_of(lease->repo(), user_ref, u->ref));
  v.utility = std::move(*u);
  return v;
}

Result<std::vector<UtilityView>> ServiceImpl::list_utilities(std::string_view user_ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(std::vector<Utility> list, lease->repo().list_utilities(user_ref));
  std::vector<UtilityView> out;
  out.reserve(list.size());
  for (auto& u : list) {
    UtilityView v;
    STSVEND_ASSIGN_OR_RETURN(v.meters, meters_of(lease->repo(), user_ref, u.ref));
    v.utility = std::move(u);
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<OssMeterView>> ServiceImpl::list_utility_meters(std::string_view user_ref,
                                                                   std::string_view utility_ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto u, lease->repo().find_utility(user_ref, utility_ref));
  if (!u) return not_found("utility_ref");
  return meters_of(lease->repo(), user_ref, utility_ref);
}

Status ServiceImpl::update_utility(std::string_view user_ref, std::string_view ref, const UtilityUpdate& in) {
  if (in.name) STSVEND_RETURN_IF_ERROR(check_name(*in.name));
  if (in.contact_phone_no) STSVEND_RETURN_IF_ERROR(check_phone("contact_phone_no", *in.contact_phone_no));
  if (in.unit_charge) STSVEND_RETURN_IF_ERROR(check_unit_charge(*in.unit_charge));
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto u, repo.find_utility(user_ref, ref));
    if (!u) return not_found("utility_ref");
    if (in.config_ref) {
      STSVEND_ASSIGN_OR_RETURN(auto config, repo.find_configuration(user_ref, *in.config_ref));
      if (!config) return not_found("config_ref");
      u->config_ref = *in.config_ref;
    }
    if (in.name) u->name = *in.name;
    if (in.contact_phone_no) u->contact_phone_no = *in.contact_phone_no;
    if (in.unit_charge) u->unit_charge = *in.unit_charge;
    if (in.activated) u->activated = *in.activated;
    u->updated_at = now();
    STSVEND_RETURN_IF_ERROR(repo.update_utility(*u).status());
    if (in.meter_refs) STSVEND_RETURN_IF_ERROR(link_meters(repo, user_ref, *in.meter_refs, u->ref, u->updated_at));
    return Status::Ok();
  });
}

Status ServiceImpl::set_utility_active(std::string_view user_ref, std::string_view ref, bool active) {
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto u, repo.find_utility(user_ref, ref));
    if (!u) return not_found("ref");
    u->activated = active;
    u->updated_at = now();
    return repo.update_utility(*u).status();
  });
}

// ---------------------------------------------------------------- meters

Result<std::string> ServiceImpl::create_oss_meter(std::string_view user_ref, const NewOssMeter& in) {
  STSVEND_RETURN_IF_ERROR(check_meter_no(in.no));
  STSVEND_RETURN_IF_ERROR(check_meter_type(in.meter_type));
  OssMeter m;
  m.ref = random_uuid_v4();
  m.user_ref = std::string(user_ref);
  m.no = in.no;
  m.activated = in.activated;
  m.meter_type = in.meter_type;
  m.utility_ref = in.utility_ref;
  m.subscriber_ref = in.subscriber_ref;
  m.created_at = m.updated_at = now();
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto user, repo.find_user(user_ref));
    if (!user) return not_found("user_ref");
    if (m.utility_ref) {
      STSVEND_ASSIGN_OR_RETURN(auto u, repo.find_utility(user_ref, *m.utility_ref));
      if (!u) return not_found("utility_ref");
    }
    if (m.subscriber_ref) {
      STSVEND_ASSIGN_OR_RETURN(auto s, repo.find_subscriber(user_ref, *m.subscriber_ref));
      if (!s) return not_found("subscriber_ref");
    }
    STSVEND_RETURN_IF_ERROR(map_meter_conflict(repo.insert_oss_meter(m)));
    return notify(repo, user_ref, "ADD_METER", "Meter added", "Added meter " + std::to_string(m.no), m.ref);
  }); !written.ok()) {
    return written;
  }
  return m.ref;
}

Result<OssMeterView> ServiceImpl::get_oss_meter(std::string_view user_ref, std::string_view ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto m, lease->repo().find_oss_meter(user_ref, ref));
  if (!m) return not_found("ref");
  return view_of(lease->repo(), user_ref, std::move(*m));
}

Status ServiceImpl::update_oss_meter(std::string_view user_ref, std::string_view ref, const OssMeterUpdate& in) {
  if (in.no) STSVEND_RETURN_IF_ERROR(check_meter_no(*in.no));
  if (in.meter_type) STSVEND_RETURN_IF_ERROR(check_meter_type(*in.meter_type));
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto m, repo.find_oss_meter(user_ref, ref));
    if (!m) return not_found("meter_ref");
    if (in.utility_ref) {
      STSVEND_ASSIGN_OR_RETURN(auto u, repo.find_utility(user_ref, *in.utility_ref));
      if (!u) return not_found("utility_ref");
      m->utility_ref = *in.utility_ref;
    }
    if (in.subscriber_ref) {
      STSVEND_ASSIGN_OR_RETURN(auto s, repo.find_subscriber(user_ref, *in.subscriber_ref));
      if (!s) return not_found("subscriber_ref");
      m->subscriber_ref = *in.subscriber_ref;
    }
    if (in.no) m->no = *in.no;
    if (in.activated) m->activated = *in.activated;
    if (in.meter_type) m->meter_type = *in.meter_type;
    m->updated_at = now();
    return map_meter_conflict(repo.update_oss_meter(*m).status());
  });
}

Status ServiceImpl::set_oss_meter_active(std::string_view user_ref, std::string_view ref, bool active) {
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto m, repo.find_oss_meter(user_ref, ref));
    if (!m) return not_found("ref");
    m->activated = active;
    m->updated_at = now();
    return repo.update_oss_meter(*m).status();
  });
}

}  // namespace stsvend::service
