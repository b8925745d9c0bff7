// The fixed permission catalogue (NECTAR-V1 §2.8). Ids and refs are stable: credentials store ids.
#include <cstdio>

#include "service/service.h"

namespace stsvend::service {
namespace {

struct Entry {
  const char* identifier;
  const char* name;
  const char* notes;
};

// Position + 1 is the id; append only. generate_token is id 3 as in the Nectar example object.
constexpr Entry kEntries[] = {
    {"get_user", "Get User", "Permission to read the user"},
    {"create_user", "Create User", "Permission to create users"},
    {"generate_token", "Generate Token", "Permission to generate tokens"},
    {"get_token", "Get Token", "Permission to read tokens"},
    {"decode_token", "Decode Token", "Permission to decode tokens"},
    {"update_user", "Update User", "Permission to update the user"},
    {"delete_user", "Delete User", "Permission to delete the user"},
    {"get_public_keys", "Get Public Keys", "Permission to list public keys"},
    {"create_public_keys", "Create Public Keys", "Permission to add public keys"},
    {"activate_public_keys", "Activate Public Keys", "Permission to activate public keys"},
    {"deactivate_public_keys", "Deactivate Public Keys", "Permission to deactivate public keys"},
    {"get_notifications", "Get Notifications", "Permission to read notifications"},
    {"set_notifications_read_status", "Set Notifications Read Status", "Permission to mark notifications read"},
    {"get_credits", "Get Credits", "Permission to read the credit balance"},
    {"get_transactions", "Get Transactions", "Permission to read purchases and consumptions"},
    {"get_credentials", "Get Credentials", "Permission to read credentials"},
    {"activate_credentials", "Activate Credentials", "Permission to activate credentials"},
    {"deactivate_credentials", "Deactivate Credentials", "Permission to deactivate credentials"},
    {"create_configurations", "Create Configurations", "Permission to upload configurations"},
    {"get_configurations", "Get Configurations", "Permission to read configurations"},
    {"activate_configurations", "Activate Configurations", "Permission to activate configurations"},
    {"deactivate_configurations", "Deactivate Configurations", "Permission to deactivate configurations"},
    {"create_credentials", "Create Credentials", "Permission to create credentials"},
    {"get_meter", "Get Meter", "Permission to read meters"},
    {"get_meter_types", "Get Meter Types", "Permission to read meter types"},
    {"create_meter", "Create Meter", "Permission to create meters"},
    {"update_meter", "Update Meter", "Permission to update meters"},
    {"activate_meter", "Activate Meter", "Permission to activate meters"},
    {"deactivate_meter", "Deactivate Meter", "Permission to deactivate meters"},
    {"get_subscriber", "Get Subscriber", "Permission to read subscribers"},
    {"add_subscriber", "Add Subscriber", "Permission to add subscribers"},
    {"update_subscriber", "Update Subscriber", "Permission to update subscribers"},
    {"activate_subscriber", "Activate Subscriber", "Permission to activate subscribers"},
    {"deactivate_subscriber", "Deactivate Subscriber", "Permission to deactivate subscribers"},
    {"get_utilities", "Get Utilities", "Permission to list utilities"},
    {"get_utility", "Get Utility", "Permission to read a utility"},
    {"get_utility_meters", "Get Utility Meters", "Permission to list a utility's meters"},
    {"create_utility", "Create Utility", "Permission to create utilities"},
    {"update_utility", "Update Utility", "Permission to update utilities"},
    {"activate_utility", "Activate Utility", "Permission to activate and deactivate utilities"},
    {"list_tokens", "List Tokens", "Permission to list a meter's tokens (stsvend)"},
    {"get_meters", "Get Meters", "Permission to read the meter registry (stsvend)"},
    {"admin", "Administer", "Server administration (stsvend)"},
};

std::vector<Permission> build() {
  std::vector<Permission> out;
  int id = 1;
  for (const Entry& e : kEntries) {
    char ref[40];
    // Fixed, well-formed v4-shaped refs so the catalogue is identical on every installation.
    std::snprintf(ref, sizeof ref, "5b1c0f4e-7a2d-4c3b-9e10-%012d", id);
    out.push_back(Permission{id, e.name, e.identifier, ref, e.notes});
    ++id;
  }
  return out;
}

}  // namespace

const std::vector<Permission>& permission_catalogue() {
  static const std::vector<Permission> catalogue = build();
  return catalogue;
}

}  // namespace stsvend::service
