Feature: First steps with a fresh Strata
  As the administrator of a new shop
  I want to stock the catalog and see what it recommends
  So that shoppers find what suits them

  Scenario: The admin stocks the catalog and a shopper gets recommendations
    Given I am logged in as the administrator
    When I add a cheap book called "Practical Gardening"
    And I add an expensive book called "The Complete Atlas"
    And I add a cheap jacket called "Linen Jacket"
    Then the catalog lists 3 products
    When a shopper asks for cheap books
    Then "Practical Gardening" is recommended first with a perfect score
    And "Linen Jacket" is not recommended before "The Complete Atlas"

  Scenario: A shopper cannot change the catalog
    Given a shopper has signed up and logged in
    When the shopper tries to add a product
    Then the shopper is told that only an administrator may do this
