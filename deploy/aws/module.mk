# deploy/aws/: fncache-node as an AWS Lambda custom runtime (make lambda-zip)
# and the scripts that deploy it (deploy/aws/README.md).
LAMBDA_ZIP := deploy/aws/fncache-node.zip

.PHONY: lambda-zip lambda-zip-clean
ifeq ($(VARIANT),release)
lambda-zip: $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(B)/bin/fncache-node deploy/aws/package.sh
	deploy/aws/package.sh $< $@
else
lambda-zip:
	@$(MAKE) --no-print-directory VARIANT=release lambda-zip
endif

clean: lambda-zip-clean
lambda-zip-clean:
	rm -f $(LAMBDA_ZIP)
