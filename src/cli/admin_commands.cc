// `stsvend admin …`: users, credentials, credits, configurations and the server key, straight on the
// data directory (SQLite WAL lets this run next to a live server). Scripts depend on the --json
// output shapes; keep them exact (docs/api.md, "Admin CLI"). Exit 0 ok, 1 failure, 2 bad input.
#include <string.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "api/json_io.h"
#include "api/service_options.h"
#include "cli/commands.h"
#include "cli/operator_message.h"
#include "cli/settings.h"
#include "service/service.h"
#include "vault/process_hardening.h"

namespace stsvend::cli {

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 2;

int fail(const Status& s) {
  std::fprintf(stderr, "stsvend: %s\n", operator_message(s).c_str());
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kNotFound:
    case Status::Code::kAlreadyExists:
    case Status::Code::kFailedPrecondition:
      return kExitBadInput;
    default:
      return kExitFailure;
  }
}

void print_json(const boost::json::value& v) { std::printf("%s\n", api::write_json(v).c_str()); }

// Opens the data directory as `serve` does, creating it when missing. A script's mistyped --data-dir would
// then quietly work on a fresh database, so a directory that held no database is named on stderr (stdout,
// which scripts parse, is unchanged).
Result<std::unique_ptr<service::Service>> open_service(const api::VaultFlags& flags) {
  vault::disable_core_dumps();
  STSVEND_ASSIGN_OR_RETURN(auto options, api::make_service_options(flags));
  std::error_code ec;
  const bool fresh = !std::filesystem::exists(options.data_dir / "stsvend.db", ec);
  auto svc = service::Service::open(options);
  if (svc.ok() && fresh) {
    std::fprintf(stderr, "stsvend: note: %s held no stsvend database; a new one was created there\n",
                 options.data_dir.c_str());
  }
  return svc;
}

// The exit code of `run` once the command's data directory and vault settings are complete (flags,
// then STSVEND_<FLAG>, then the --config file); 2 when those settings are wrong.
int with_settings(const CLI::App& cmd, api::VaultFlags& v, const std::function<int()>& run) {
  if (Status s = apply_settings(cmd, v.config_file, vault_settings(v)); !s.ok()) return fail(s);
  return run();
}

// A configuration or key file: at most 1 MiB (both are a few KiB), so `--file /dev/zero` is refused
// instead of filling memory. Pipes (`--file <(...)`) are read as far as the bound.
Result<std::string> read_file(const std::string& path, std::string_view flag) {
  constexpr std::size_t kMaxBytes = 1 << 20;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::InvalidArgument(flag, path + " is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(flag, "cannot read " + path);
  std::string text;
  char chunk[16384];
  bool failed = false;
  try {
    while (text.size() <= kMaxBytes && (in.read(chunk, sizeof chunk) || in.gcount() > 0)) {
      text.append(chunk, static_cast<std::size_t>(in.gcount()));
    }
  } catch (const std::exception&) {  // libstdc++'s filebuf throws on a read error whatever the stream's mask
    failed = true;
  }
  explicit_bzero(chunk, sizeof chunk);  // a private key passes through it
  if (failed || in.bad()) return Status::InvalidArgument(flag, "cannot read " + path);
  if (text.size() > kMaxBytes) return Status::InvalidArgument(flag, path + " is larger than 1 MiB");
  return text;
}

// --- user

struct UserFlags {
  api::VaultFlags vault;
  std::string email;
  std::string password;
  std::string username;
  std::string first_name = "Admin";
  std::string last_name = "User";
  std::string phone_no;
  bool admin = false;
  bool json = false;
};

int run_user_create(const UserFlags& f) {
  auto svc = open_service(f.vault);
  if (!svc.ok()) return fail(svc.status());
  service::NewUser u;
  u.email = f.email;
  u.password = f.password;
  u.username = f.username.empty() ? f.email : f.username;
  u.first_name = f.first_name;
  u.last_name = f.last_name;
  u.phone_no = f.phone_no;
  u.is_admin = f.admin;
  auto ref = (*svc)->create_user(u);
  if (!ref.ok()) return fail(ref.status());
  if (f.json) {
    boost::json::object o;
    o["ref"] = *ref;
    print_json(o);
  } else {
    std::printf("created user %s (%s)\n", ref->c_str(), f.email.c_str());
  }
  return 0;
}

int run_user_list(const UserFlags& f) {
  auto svc = open_service(f.vault);
  if (!svc.ok()) return fail(svc.status());
  auto users = (*svc)->list_users();
  if (!users.ok()) return fail(users.status());
  if (f.json) {
    boost::json::array arr;
    for (const auto& u : *users) {
      boost::json::object o;
      o["ref"] = u.ref;
      o["username"] = u.username;
      o["email"] = u.email;
      o["activated"] = u.activated;
      o["is_admin"] = u.is_admin;
      o["created_at"] = service::format_millis(u.created_at);
      arr.push_back(std::move(o));
    }
    print_json(arr);
  } else {
    // Names stored before control characters were refused could rewrite the terminal (an escape sequence)
    // or end the line early (a NUL): printed as '?'.
    const auto printable = [](std::string text) {
      for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
      }
      return text;
    };
    for (const auto& u : *users) {
      std::printf("%s  %-30s %-30s %s%s\n", u.ref.c_str(), printable(u.username).c_str(), printable(u.email).c_str(),
                  u.activated ? "active" : "inactive", u.is_admin ? " admin" : "");
    }
  }
  return 0;
}

// --- credential

struct CredentialFlags {
  api::VaultFlags vault;
  std::string user;
  std::string permissions = "all";
  bool json = false;
};

Result<service::PermissionSelection> parse_permissions(const std::string& text) {
  if (text == "all") return service::PermissionSelection::All();
  service::PermissionSelection sel;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    int id = 0;
    bool numeric = true;
    for (char c : item) {
      if (c < '0' || c > '9' || id > 100000) {
        numeric = false;
        break;
      }
      id = id * 10 + (c - '0');
    }
    if (!numeric) {
      // Identifiers are accepted too ("generate_token,get_token").
      bool found = false;
      for (const auto& p : service::permission_catalogue()) {
        if (p.identifier == item) {
          id = p.id;
          found = true;
        }
      }
      if (!found) return Status::InvalidArgument("--permissions", "unknown permission '" + item + "'");
    }
    sel.ids.push_back(id);
  }
  if (sel.ids.empty()) return Status::InvalidArgument("--permissions", "must be all or a list of ids");
  return sel;
}

int run_credential_create(const CredentialFlags& f) {
  auto sel = parse_permissions(f.permissions);
  if (!sel.ok()) return fail(sel.status());
  auto svc = open_service(f.vault);
  if (!svc.ok()) return fail(svc.status());
  auto cred = (*svc)->create_credential(f.user, *sel);
  if (!cred.ok()) return fail(cred.status());
  if (f.json) {
    boost::json::object o;
    o["ref"] = cred->ref;
    o["key"] = cred->key;
    o["secret"] = cred->secret;
    print_json(o);
  } else {
    // The one place a credential secret is ever shown: to the operator who just created it, on
    // stdout, once (the vault holds it sealed; no log line or API response carries it).
    std::printf("ref:    %s\nkey:    %s\nsecret: %s\n", cred->ref.c_str(), cred->key.c_str(), cred->secret.c_str());
  }
  return 0;
}

// --- credits

struct CreditsFlags {
  api::VaultFlags vault;
  std::string user;
  std::string amount;
  std::string value;
  std::string currency = "KES";
  bool json = false;
};

int run_credits_add(const CreditsFlags& f) {
  auto units = service::parse_units(f.amount, "--amount");
  if (!units.ok()) return fail(units.status());
  if (*units <= 0) return fail(Status::InvalidArgument("--amount", "must be greater than 0"));
  service::Units value = *units;
  if (!f.value.empty()) {
    auto v = service::parse_units(f.value, "--value");
    if (!v.ok()) return fail(v.status());
    value = *v;
  }
  auto svc = open_service(f.vault);
  if (!svc.ok()) return fail(svc.status());
  if (Status s = (*svc)->add_credits(f.user, *units, value, f.currency); !s.ok()) return fail(s);
  auto summary = (*svc)->credits(f.user);
  if (!summary.ok()) return fail(summary.status());
  if (f.json) {
    boost::json::object o;
    o["user_ref"] = f.user;
    o["added"] = static_cast<double>(*units) / static_cast<double>(service::kUnitScale);
    o["credits"] = static_cast<double>(summary->credits) / static_cast<double>(service::kUnitScale);
    print_json(o);
  } else {
    std::printf("added %s; balance %s\n", service::format_units(*units).c_str(),
                service::format_units(summary->credits).c_str());
  }
  return 0;
}

// --- config

struct ConfigFlags {
  api::VaultFlags vault;
  std::string user;
  std::string file;
  bool json = false;
};

int run_config_add(const ConfigFlags& f) {
  auto text = read_file(f.file, "--file");
  if (!text.ok()) return fail(text.status());
  auto svc = open_service(f.vault);
  if (!svc.ok()) return fail(svc.status());
  auto cfg = (*svc)->add_configuration_text(f.user, *text);
  // The text holds the vending key: wipe our copy as soon as the service has sealed it.
  std::fill(text->begin(), text->end(), '\0');
  if (!cfg.ok()) {
    // The parser names a line or a key of the file ("line 3: ..."); say which file. Its messages never
    // repeat a value, so no key material reaches the terminal.
    const Status& st = cfg.status();
    if (st.code() != Status::Code::kInvalidArgument) return fail(st);
    return fail(Status::InvalidArgument("--file", f.file + ": " + st.message()));
  }
  if (f.json) {
    boost::json::object o;
    o["ref"] = cfg->ref;
    o["name"] = cfg->name;
    print_json(o);
  } else {
    std::printf("added configuration %s (%s)\n", cfg->ref.c_str(), cfg->name.c_str());
  }
  return 0;
}

// --- server key

struct ServerKeyFlags {
  api::VaultFlags vault;
  std::string file;
};

int run_server_key_show(const ServerKeyFlags& f) {
  auto svc = open_service(f.vault);
  if (!svc.ok()) return fail(svc.status());
  const std::string pem = (*svc)->server_public_key_pem();
  std::fwrite(pem.data(), 1, pem.size(), stdout);
  if (!pem.empty() && pem.back() != '\n') std::printf("\n");
  return 0;
}

int run_server_key_import(const ServerKeyFlags& f) {
  auto bytes = read_file(f.file, "FILE");
  if (!bytes.ok()) return fail(bytes.status());
  auto options = api::make_service_options(f.vault);
  if (!options.ok()) return fail(options.status());
  vault::disable_core_dumps();
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes->data());
  Status s = service::Service::import_server_key(options->data_dir, std::span<const std::uint8_t>(p, bytes->size()),
                                                 options->pkcs11);
  std::fill(bytes->begin(), bytes->end(), '\0');
  if (!s.ok()) return fail(s);  // one line, nothing replaced
  std::fprintf(stderr,
               "stsvend: server key imported: the server key pair is now the imported private key.\n"
               "stsvend: WARNING: a key that was ever published (e.g. the Nectar example pair) must NEVER\n"
               "stsvend: WARNING: serve production: anyone can decrypt configuration uploads made to it.\n"
               "stsvend: WARNING: restart a running server to load the new key.\n");
  return 0;
}

// The footer of an admin command: a note of its own, the exit-code contract all of them share, its examples.
std::string with_contract(std::string_view examples, std::string_view note = {}) {
  std::string footer(note);
  if (!note.empty()) footer += '\n';
  footer +=
      "Works while the server runs. Exit 0 on success, 1 when the command ran and failed, 2 on bad input\n"
      "(one line on stderr: `stsvend: <field>: <rule>`).\n\nExamples:\n";
  footer.append(examples);
  return footer;
}

}  // namespace

void add_admin_commands(CLI::App& app, Context& ctx) {
  CLI::App* admin = app.add_subcommand("admin", "Administer a data directory (works while the server runs)");
  admin->require_subcommand(1);
  // The groups (admin, admin user, ...) inherit this; each command below has its own.
  admin->footer(with_contract(
      "  stsvend admin user create --data-dir ./data --email ops@example.com --password 'long passphrase' --json\n"
      "  stsvend admin credential create --data-dir ./data --user REF --permissions all --json\n"
      "  stsvend admin credits add --data-dir ./data --user REF --amount 100 --json\n"
      "  stsvend admin server-key --data-dir ./data"));

  CLI::App* user = admin->add_subcommand("user", "Users");
  user->require_subcommand(1);
  auto uf = std::make_shared<UserFlags>();
  CLI::App* ucreate = user->add_subcommand("create", "Create a user");
  add_vault_flags(ucreate, uf->vault);
  ucreate->add_option("--email", uf->email, "E-mail address")->required();
  ucreate->add_option("--password", uf->password, "Password (at least 8 characters)")->required();
  ucreate->add_option("--username", uf->username, "Username (default: the e-mail address)");
  ucreate->add_option("--first-name", uf->first_name, "First name");
  ucreate->add_option("--last-name", uf->last_name, "Last name");
  ucreate->add_option("--phone", uf->phone_no, "Phone number (digits)");
  ucreate->add_flag("--admin", uf->admin, "Make the user an administrator");
  ucreate->add_flag("--json", uf->json, "Print {\"ref\": …}");
  ucreate->footer(with_contract(
      "  stsvend admin user create --data-dir ./data --email ops@example.com --password 'long passphrase' --json\n"
      "  stsvend admin user create --data-dir ./data --email lead@example.com --password '…' --admin"));
  ucreate->callback([uf, ucreate, &ctx] {
    ctx.exit_code = with_settings(*ucreate, uf->vault, [&] { return run_user_create(*uf); });
  });
  auto ul = std::make_shared<UserFlags>();
  CLI::App* ulist = user->add_subcommand("list", "List users");
  add_vault_flags(ulist, ul->vault);
  ulist->add_flag("--json", ul->json, "Print a JSON array");
  ulist->footer(with_contract(
      "  stsvend admin user list --data-dir ./data --json   # [{\"ref\",\"username\",\"email\",\"activated\",...}]"));
  ulist->callback([ul, ulist, &ctx] {
    ctx.exit_code = with_settings(*ulist, ul->vault, [&] { return run_user_list(*ul); });
  });

  CLI::App* credential = admin->add_subcommand("credential", "API credentials");
  credential->require_subcommand(1);
  auto cf = std::make_shared<CredentialFlags>();
  CLI::App* ccreate = credential->add_subcommand("create", "Create an API credential (key and secret)");
  add_vault_flags(ccreate, cf->vault);
  ccreate->add_option("--user", cf->user, "User ref")->required();
  ccreate->add_option("--permissions", cf->permissions,
                      "all, or permission ids/identifiers separated by commas (default all)");
  ccreate->add_flag("--json", cf->json, "Print {\"ref\": …, \"key\": …, \"secret\": …}");
  ccreate->footer(with_contract(
      "  stsvend admin credential create --data-dir ./data --user REF --permissions all --json\n"
      "  stsvend admin credential create --data-dir ./data --user REF --permissions generate_token,get_token --json",
      "The secret is shown only here: store it now."));
  ccreate->callback([cf, ccreate, &ctx] {
    ctx.exit_code = with_settings(*ccreate, cf->vault, [&] { return run_credential_create(*cf); });
  });

  CLI::App* credits = admin->add_subcommand("credits", "Credits");
  credits->require_subcommand(1);
  auto kf = std::make_shared<CreditsFlags>();
  CLI::App* cadd = credits->add_subcommand("add", "Top up a user's credits (a purchase)");
  add_vault_flags(cadd, kf->vault);
  cadd->add_option("--user", kf->user, "User ref")->required();
  cadd->add_option("--amount", kf->amount, "Units to add (decimal, up to 4 places)")->required();
  cadd->add_option("--value", kf->value, "Money paid (default: the amount)");
  cadd->add_option("--currency", kf->currency, "Currency of --value (default KES)");
  cadd->add_flag("--json", kf->json, "Print {\"user_ref\": …, \"added\": …, \"credits\": …}");
  cadd->footer(with_contract(
      "  stsvend admin credits add --data-dir ./data --user REF --amount 100 --json\n"
      "  stsvend admin credits add --data-dir ./data --user REF --amount 250.5 --value 500 --currency KES"));
  cadd->callback([kf, cadd, &ctx] {
    ctx.exit_code = with_settings(*cadd, kf->vault, [&] { return run_credits_add(*kf); });
  });

  CLI::App* config = admin->add_subcommand("config", "STS configurations");
  config->require_subcommand(1);
  auto gf = std::make_shared<ConfigFlags>();
  CLI::App* gadd = config->add_subcommand("add", "Add a plaintext configuration file for a user");
  add_vault_flags(gadd, gf->vault);
  gadd->add_option("--user", gf->user, "User ref")->required();
  gadd->add_option("--file", gf->file, "Configuration text file (NECTAR-V1 §3.5.2)")->required();
  gadd->add_flag("--json", gf->json, "Print {\"ref\": …, \"name\": …}");
  gadd->footer(with_contract("  stsvend admin config add --data-dir ./data --user REF --file meter.cfg --json"));
  gadd->callback([gf, gadd, &ctx] {
    ctx.exit_code = with_settings(*gadd, gf->vault, [&] { return run_config_add(*gf); });
  });

  auto sf = std::make_shared<ServerKeyFlags>();
  CLI::App* skey = admin->add_subcommand("server-key", "Print the server public key (PEM), or import a key pair");
  add_vault_flags(skey, sf->vault);
  skey->footer(with_contract(
      "  stsvend admin server-key --data-dir ./data > nectar_public.pem   # the key clients wrap config keys to"));
  auto si = std::make_shared<ServerKeyFlags>();
  CLI::App* simport = skey->add_subcommand("import", "Replace the server key pair with a PKCS#8 private key");
  add_vault_flags(simport, si->vault);
  simport->add_option("FILE", si->file, "PKCS#8 private key, PEM or DER")->required();
  simport->footer(with_contract(
      "  stsvend admin server-key import --data-dir ./data test-key.pk8.pem",
      "For interoperability tests only: a published key must never serve production. Restart the server after."));
  simport->callback([si, sf, skey, simport, &ctx] {
    // `admin server-key --data-dir D import F` and `admin server-key import --data-dir D F` both work:
    // the settings given after `import` if any, else those given before it.
    const bool own = !si->vault.data_dir.empty() || !si->vault.config_file.empty();
    ServerKeyFlags merged = *si;
    if (!own) merged.vault = sf->vault;
    ctx.exit_code = with_settings(own ? *simport : *skey, merged.vault, [&] { return run_server_key_import(merged); });
  });
  skey->callback([sf, skey, simport, &ctx] {
    if (simport->parsed()) return;
    ctx.exit_code = with_settings(*skey, sf->vault, [&] { return run_server_key_show(*sf); });
  });
}

}  // namespace stsvend::cli
