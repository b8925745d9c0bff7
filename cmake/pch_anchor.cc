// Empty translation unit: the owner targets in cmake/StsvendPch.cmake exist only to build a precompiled header.
