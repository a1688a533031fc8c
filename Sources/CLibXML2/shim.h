#include <libxml/xmlversion.h>
// The system's libxml2 headers would include the system ICU's headers, which clash with the ICU copy Foundation
// brings (_FoundationICU). Only xmlCharEncodingHandler's layout depends on ICU, and Swift never touches it.
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
