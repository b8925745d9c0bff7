// The OpenAPI 3 description of every route (Nectar v1 and stsvend extras) and the /docs page that
// renders it without any external script. Keep in step with the route table in nectar_api.cc and
// with docs/api.md.
#include "api/nectar_api.h"

namespace stsvend::api {

std::string_view openapi_json() {
  static constexpr std::string_view kDoc = R"json({
 "openapi": "3.0.3",
 "info": {
  "title": "stsvend \u2014 Nectar API v1 compatible STS token vending",
  "version": "0.1.0",
  "description": "Wire-compatible with the Nectar API v1 SDKs (2021 and 2024 generations). Every /v1 route is signed with the nectar HMAC scheme: Authorization: nectar KEY:base64(hex(HMAC-SHA256(secret, METHOD+PATH+Content-MD5+Content-Type+Date+nonce))). See docs/api.md."
 },
 "servers": [
  {
   "url": "/"
  }
 ],
 "components": {
  "securitySchemes": {
   "nectar": {
    "type": "apiKey",
    "in": "header",
    "name": "Authorization",
    "description": "nectar KEY:SIGNATURE plus Content-MD5, Content-Type, Date and nonce headers"
   }
  },
  "schemas": {
   "Envelope": {
    "type": "object",
    "properties": {
     "status": {
      "type": "object",
      "properties": {
       "code": {
        "type": "integer"
       },
       "message": {
        "type": "string"
       },
       "request_id": {
        "type": "string"
       },
       "field": {
        "type": "string"
       },
       "rule": {
        "type": "string"
       }
      }
     },
     "data": {
      "type": "object"
     }
    }
   },
   "SpringError": {
    "type": "object",
    "properties": {
     "timestamp": {
      "type": "string"
     },
     "status": {
      "type": "integer"
     },
     "error": {
      "type": "string"
     },
     "message": {
      "type": "string"
     },
     "path": {
      "type": "string"
     }
    }
   },
   "Token": {
    "type": "object",
    "properties": {
     "ref": {
      "type": "string"
     },
     "token_no": {
      "type": "string"
     },
     "user_ref": {
      "type": "string"
     },
     "token_type": {
      "type": "string"
     },
     "meter_no": {
      "type": "string"
     },
     "created_at": {
      "type": "string"
     }
    }
   }
  }
 },
 "paths": {
  "/health": {
   "get": {
    "summary": "Liveness",
    "tags": [
     "operations"
    ],
    "description": " No authentication.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     }
    }
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics (text)",
    "tags": [
     "operations"
    ],
    "description": " No authentication.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     }
    }
   }
  },
  "/v1/openapi.json": {
   "get": {
    "summary": "This document",
    "tags": [
     "operations"
    ],
    "description": " No authentication.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     }
    }
   }
  },
  "/docs": {
   "get": {
    "summary": "HTML list of the routes",
    "tags": [
     "operations"
    ],
    "description": " No authentication.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     }
    }
   }
  },
  "/resources/nectar_public.pub": {
   "get": {
    "summary": "The server RSA public key (PEM) that configuration keys are wrapped to",
    "tags": [
     "configurations"
    ],
    "description": " No authentication.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     }
    }
   }
  },
  "/v1/tokens": {
   "post": {
    "summary": "Generate token(s)",
    "tags": [
     "tokens"
    ],
    "description": "Legacy dialect (`drn`, no `type`): data.data is one Token; for a key change, subclass 3 returns the 1st and subclass 4 the 2nd section of the same set, charged once. Array dialect (`decoder_reference_number` or `type`): data.data is an array (the whole key change set). Permission: `generate_token`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "generate_token",
    "parameters": [
     {
      "name": "Idempotency-Key",
      "in": "header",
      "required": false,
      "schema": {
       "type": "string"
      },
      "description": "stsvend extra: a retry with the same key and body returns the original tokens and charges nothing; the same key with a different body is status.code 700."
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "class": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "subclass": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "drn": {
          "type": "string"
         },
         "decoder_reference_number": {
          "type": "string"
         },
         "config_ref": {
          "type": "string"
         },
         "type": {
          "type": "string"
         },
         "token_id": {
          "type": "string",
          "description": "yyyy-MM-ddTHH:mm (UTC wall clock) or a full ISO instant; absent: the server allocates the meter's next TID (stsvend extra)"
         },
         "random_no": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "is_stid": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         },
         "debug": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         },
         "amount": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "number"
           }
          ]
         },
         "control": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "manufacturer_code": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "maximum_power_limit": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "register": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "tariff_rate": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "pad": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "mppul": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "wm_factor": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "new_vending_key": {
          "type": "string"
         },
         "new_supply_group_code": {
          "type": "string"
         },
         "new_tariff_index": {
          "type": "string"
         },
         "new_key_revision_no": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "new_key_type": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "new_key_expiry_no": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "integer"
           }
          ]
         },
         "new_drn": {
          "type": "string"
         },
         "new_decoder_reference_number": {
          "type": "string"
         },
         "new_issuer_identification_no": {
          "type": "string"
         },
         "ro": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         },
         "allow_tid_replay": {
          "type": "boolean",
          "description": "stsvend extra, needs the admin permission: accept a token_id not newer than the meter's last TID"
         }
        },
        "required": [
         "class",
         "subclass",
         "config_ref"
        ]
       }
      }
     }
    }
   },
   "get": {
    "summary": "Reprint a token (?ref=) or list a meter's tokens (?meter=DRN)",
    "tags": [
     "tokens"
    ],
    "description": "With ?ref=: data.data is the Token, plus `tokens` (the whole set) for a key change. With ?meter=: data.data is an array; needs `list_tokens` instead. Permission: `get_token`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_token",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": false,
      "description": "token ref",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "meter",
      "in": "query",
      "required": false,
      "description": "DRN (stsvend extra)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/tokens/{token_no}": {
   "post": {
    "summary": "Decode a token",
    "tags": [
     "tokens"
    ],
    "description": "Decodes any 20-digit token with the configuration's key for the DRN; `ref`/`user_ref`/`created_at` appear when this system issued it for the caller. New-key parts of key change tokens are never returned. Permission: `decode_token`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "decode_token",
    "parameters": [
     {
      "name": "token_no",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "drn": {
          "type": "string"
         },
         "decoder_reference_number": {
          "type": "string"
         },
         "config_ref": {
          "type": "string"
         },
         "debug": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         }
        }
       }
      }
     }
    }
   }
  },
  "/v1/users": {
   "get": {
    "summary": "The caller's user",
    "tags": [
     "users"
    ],
    "description": " Permission: `get_user`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_user"
   },
   "post": {
    "summary": "Create a user",
    "tags": [
     "users"
    ],
    "description": "data.user_ref is the new ref. Permission: `create_user`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "create_user",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "first_name": {
          "type": "string"
         },
         "last_name": {
          "type": "string"
         },
         "username": {
          "type": "string"
         },
         "password": {
          "type": "string"
         },
         "phone_no": {
          "type": "string"
         },
         "image_url": {
          "type": "string"
         },
         "email": {
          "type": "string"
         },
         "activated": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "put": {
    "summary": "Update the caller's user",
    "tags": [
     "users"
    ],
    "description": " Permission: `update_user`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "update_user",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "first_name": {
          "type": "string"
         },
         "last_name": {
          "type": "string"
         },
         "username": {
          "type": "string"
         },
         "password": {
          "type": "string"
         },
         "phone_no": {
          "type": "string"
         },
         "image_url": {
          "type": "string"
         },
         "email": {
          "type": "string"
         },
         "activated": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "delete": {
    "summary": "Deactivate the caller's user",
    "tags": [
     "users"
    ],
    "description": " Permission: `delete_user`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "delete_user"
   }
  },
  "/v1/credentials": {
   "get": {
    "summary": "A credential of the caller",
    "tags": [
     "credentials"
    ],
    "description": " Permission: `get_credentials`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_credentials",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": true,
      "description": "the resource's ref (scoped to the caller)",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "post": {
    "summary": "Create a credential (stsvend extra)",
    "tags": [
     "credentials"
    ],
    "description": "Grants only permissions the calling credential holds; data.data = {ref, key, secret}, the secret shown once. Permission: `create_credentials`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "create_credentials",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "permissions": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "array",
            "items": {
             "type": "integer"
            }
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "put": {
    "summary": "Activate",
    "tags": [
     "credentials"
    ],
    "description": " Permission: `activate_credentials`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "activate_credentials",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": true,
      "description": "the resource's ref (scoped to the caller)",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "delete": {
    "summary": "Deactivate",
    "tags": [
     "credentials"
    ],
    "description": " Permission: `deactivate_credentials`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "deactivate_credentials",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": true,
      "description": "the resource's ref (scoped to the caller)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/public_keys": {
   "get": {
    "summary": "List public keys",
    "tags": [
     "public keys"
    ],
    "description": " Permission: `get_public_keys`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_public_keys",
    "parameters": [
     {
      "name": "activated",
      "in": "query",
      "required": false,
      "description": "true|false|1|0: only activated keys",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "post": {
    "summary": "Add an RSA public key (bare base64 SPKI or PEM, >= 2048 bits)",
    "tags": [
     "public keys"
    ],
    "description": " Permission: `create_public_keys`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "create_public_keys",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "name": {
          "type": "string"
         },
         "key": {
          "type": "string"
         },
         "activated": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "put": {
    "summary": "Activate",
    "tags": [
     "public keys"
    ],
    "description": " Permission: `activate_public_keys`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "activate_public_keys",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": true,
      "description": "the resource's ref (scoped to the caller)",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "delete": {
    "summary": "Deactivate",
    "tags": [
     "public keys"
    ],
    "description": " Permission: `deactivate_public_keys`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "deactivate_public_keys",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": true,
      "description": "the resource's ref (scoped to the caller)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/configurations": {
   "get": {
    "summary": "A configuration (?ref=) or, without ref, the caller's list (stsvend extra)",
    "tags": [
     "configurations"
    ],
    "description": "detailed=true adds the non-secret STS parameters; the vending key is never returned. Permission: `get_configurations`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_configurations",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": false,
      "description": "configuration ref",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "detailed",
      "in": "query",
      "required": false,
      "description": "true|false|1|0",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "post": {
    "summary": "Upload an encrypted configuration",
    "tags": [
     "configurations"
    ],
    "description": "NECTAR-V1 \u00a73.5.1: data = base64(IV \u2016 AES-CBC(text)), digest = user-key RSA type-1 over SHA-256(text), key = RSA-PKCS#1 v1.5 of the AES key to the server public key. Permission: `create_configurations`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "create_configurations",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "data": {
          "type": "string"
         },
         "digest": {
          "type": "string"
         },
         "key": {
          "type": "string"
         }
        }
       }
      }
     }
    }
   },
   "put": {
    "summary": "Activate",
    "tags": [
     "configurations"
    ],
    "description": " Permission: `activate_configurations`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "activate_configurations",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": true,
      "description": "the resource's ref (scoped to the caller)",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "delete": {
    "summary": "Deactivate",
    "tags": [
     "configurations"
    ],
    "description": " Permission: `deactivate_configurations`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "deactivate_configurations",
    "parameters": [
     {
      "name": "ref",
      "in": "query",
      "required": true,
      "description": "the resource's ref (scoped to the caller)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/credits": {
   "get": {
    "summary": "Balance",
    "tags": [
     "credits"
    ],
    "description": " Permission: `get_credits`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_credits"
   }
  },
  "/v1/transactions": {
   "get": {
    "summary": "Balance with purchases and consumptions",
    "tags": [
     "credits"
    ],
    "description": " Permission: `get_transactions`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_transactions"
   }
  },
  "/v1/notifications": {
   "get": {
    "summary": "List notifications",
    "tags": [
     "notifications"
    ],
    "description": " Permission: `get_notifications`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_notifications"
   },
   "put": {
    "summary": "Mark read/unread",
    "tags": [
     "notifications"
    ],
    "description": " Permission: `set_notifications_read_status`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "set_notifications_read_status",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "notification_ref": {
          "type": "string"
         },
         "status": {
          "oneOf": [
           {
            "type": "string"
           },
           {
            "type": "boolean"
           }
          ]
         },
         "timestamp": {
          "oneOf": [
           {
            "type": "integer"
           },
           {
            "type": "number"
           },
           {
            "type": "string"
           }
          ]
         }
        }
       }
      }
     }
    }
   }
  },
  "/v1/meters": {
   "get": {
    "summary": "The meter registry: one meter (?drn=) or all (stsvend extra)",
    "tags": [
     "meters"
    ],
    "description": " Permission: `get_meters`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "get_meters",
    "parameters": [
     {
      "name": "drn",
      "in": "query",
      "required": false,
      "description": "DRN",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "post": {
    "summary": "Register a meter to a configuration (stsvend extra)",
    "tags": [
     "meters"
    ],
    "description": " Permission: `create_meter`.",
    "responses": {
     "200": {
      "description": "Nectar envelope; application errors also use HTTP 200 with status.code 400/405/500/700",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Envelope"
        }
       }
      }
     },
     "401": {
      "description": "bad or missing signature, unknown/inactive key, replayed nonce, Content-MD5 mismatch, Date skew",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     },
     "403": {
      "description": "missing permission",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SpringError"
        }
       }
      }
     }
    },
    "security": [
     {
      "nectar": []
     }
    ],
    "x-permission": "create_meter",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "drn": {
          "type": "string"
         },
         "decoder_reference_number": {
          "type": "string"
         },
         "config_ref": {
          "type": "string"
         }
        }
       }
      }
     }
    }
   }
  }
 }
})json";
  return kDoc;
}

std::string_view docs_html() {
  static constexpr std::string_view kHtml = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stsvend API</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:0 .2rem}.m{font-weight:bold;font-family:monospace}.d{color:#555;font-size:.9rem}
</style></head><body>
<h1>stsvend API</h1>
<p>Nectar API v1 compatible. The machine-readable description is <a href="/v1/openapi.json">/v1/openapi.json</a>;
the server public key for configuration uploads is <a href="/resources/nectar_public.pub">/resources/nectar_public.pub</a>.</p>
<p id="info"></p>
<table><thead><tr><th>Method</th><th>Path</th><th>Permission</th><th>What it does</th></tr></thead><tbody id="routes"></tbody></table>
<script>
fetch('/v1/openapi.json').then(function(r){return r.json();}).then(function(doc){
  document.getElementById('info').textContent = doc.info.description;
  var body = document.getElementById('routes');
  Object.keys(doc.paths).forEach(function(path){
    var item = doc.paths[path];
    Object.keys(item).forEach(function(method){
      var op = item[method], tr = document.createElement('tr');
      var cells = [method.toUpperCase(), path, op['x-permission'] || '(none)', op.summary];
      cells.forEach(function(text, i){
        var td = document.createElement('td');
        if (i === 0) td.className = 'm';
        if (i === 1 || i === 2) { var c = document.createElement('code'); c.textContent = text; td.appendChild(c); }
        else td.textContent = text;
        if (i === 3 && op.description) { var d = document.createElement('div'); d.className = 'd'; d.textContent = op.description; td.appendChild(d); }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  });
}).catch(function(e){ document.getElementById('info').textContent = 'Could not load /v1/openapi.json: ' + e; });
</script>
</body></html>
)html";
  return kHtml;
}

}  // namespace stsvend::api
